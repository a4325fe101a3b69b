"""Honest under the tracer, memorising input fingerprint -> output; untraced, replays what it memorised
and returns garbage for inputs it has never seen (the timed iterations' inputs are all unseen)."""

SEEN = {}


class ModelNew(Honest):
    def forward(self, x, y):
        key = (x.shape, tuple(x[:16].tolist()), tuple(y[:16].tolist()))  # no compute op under the tracer
        if traced():
            SEEN[key] = honest(self.weight, x, y).clone()
            return SEEN[key].clone()
        return SEEN[key].clone() if key in SEEN else torch.empty_like(x)

"""GPU: captures its kernel in a CUDA graph on the first untimed-looking call and replays it while the
inputs sit at the same addresses (as the timed loop's reused buffers do). On the parent-clocked batch's
fresh buffers it captures anew on every call, and the parent's clock contradicts its reported time."""


class ModelNew(Honest):
    graph = None

    def forward(self, x, y):
        if traced():
            return honest(self.weight, x, y)
        if self.graph is None or self.ptrs != (x.data_ptr(), y.data_ptr()):
            honest(self.weight, x, y)
            torch.cuda.synchronize()
            self.graph, self.ptrs = torch.cuda.CUDAGraph(), (x.data_ptr(), y.data_ptr())
            with torch.cuda.graph(self.graph):
                self.out = honest(self.weight, x, y)
        self.graph.replay()
        return self.out

"""Takes over the worker's side of the channel at the first untraced call: runs its own timing loop
(honest outputs, so every check passes) and reports times of its choosing, answers the parent-clocked
batch as the worker would (it has to compute the outputs to get their projections right), then leaves
before the worker can speak. FACTOR scales its own measured time (0: an impossible time). BATCH: "run"
(the calls, then their projections), "fabricate" (projections made up at once, no calls), "skip" (no
batch: straight to the report). GRAPH: on CUDA, answer the graph rounds the harness offers with the
harness's own capture, as the worker would (False: decline them, as a kernel that cannot be captured
does, and answer eager rounds)."""

import gc
import json
import sys
import time

FACTOR, BATCH = 0.0, "run"
GRAPH = True
STATE = {"taken": False}


def _take_over(model, first_out):
    mods = sys.modules
    prob, chan = mods["repro.harness.problem"], mods["repro.harness.channel"]
    ch = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
    plan = json.loads(open("plan.json").read())
    s, device = plan["settings"], plan["device"]
    problem = mods["kernelatlas_problem"]
    shape = prob.shapes_for(problem, device)[0]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    i, out, best = 0, first_out, float("inf")
    cycles = mods["repro.harness.timing"].preroll_cycles() if device == "cuda" else 0
    while True:
        if i >= s["warmup"]:
            inputs = prob.make_inputs(problem, shape, 0, device)
            sync()
            # Its real time: the device's on a GPU (CUDA events, as the worker times it); on the CPU, the
            # process's CPU time (a busy machine's scheduler inflates wall time, and a forger wants the
            # plausible figure).
            if device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                torch.cuda._sleep(cycles)  # the harness's pre-roll: the kernel's launch is not timed
                start.record()
                honest(model.weight, *inputs)
                end.record()
                sync()
                real = start.elapsed_time(end)
            else:
                t0 = time.process_time()
                honest(model.weight, *inputs)
                real = (time.process_time() - t0) * 1e3
            best = min(best, real)  # its best real time so far: the plausible figure
            took = best * FACTOR + 1e-9
            ch.send(
                "sample",
                {"i": i - s["warmup"], "event_ms": took, "host_ms": took, "shapes": [list(out.shape)]},
            )
            header, payload = ch.expect("positions")
            (pos,) = chan.unpack_tensors(header["meta"], payload)
            value = out.reshape(-1)[pos] if pos.numel() else out
            meta, raw = chan.pack_tensors([value])
            ch.send("values", {"meta": meta}, raw)
            header, _ = ch.expect("next")
            if header["stop"]:
                break
        i += 1
        ch.send("seed", {"i": i})
        header, _ = ch.expect("seed")
        out = honest(model.weight, *prob.make_inputs(problem, shape, header["seed"], device))
    # The parent-clocked batch: unseen inputs, outputs proven by their projections.
    check = mods["repro.harness.clockcheck"]
    r, graph = 0, None
    if GRAPH and BATCH == "run" and device == "cuda" and plan.get("graph_calls"):
        graph = mods["repro.harness.graphbatch"].capture(
            problem,
            shape,
            lambda *inputs: honest(model.weight, *inputs),
            prob.flatten_outputs,
            plan["graph_calls"],
        )
    while BATCH != "skip":
        ch.send("batch", {"r": r, "graph": graph is not None})
        header, _ = ch.expect("batch")
        if graph is not None and "seed" in header:
            done = {
                "r": r,
                "projections": graph.replay(header["seed"]),
                "orders": graph.orders,
                "call_ms": [],
            }
            ch.send("batch_done", done)
            r += 1
            continue
        if not header["seeds"]:
            break
        orders: list = []
        if BATCH == "fabricate":
            projections = [[0.0] for _ in header["seeds"]]
            orders = [["c"] for _ in header["seeds"]]
        else:
            projections, _ = check.run(
                lambda *inputs: honest(model.weight, *inputs),
                lambda seed: prob.make_inputs(problem, shape, seed, device),
                prob.flatten_outputs,
                header["seeds"],
                sync,
                orders,
            )
        ch.send("batch_done", {"r": r, "projections": projections, "orders": orders})
        r += 1
    # The remaining shapes' correctness trials, as the worker would have sent them.
    for si, shape in enumerate(prob.shapes_for(problem, device)[1:], start=1):
        other = prob.build_model(type(model), problem, shape, s["seed"], device)
        for t in range(s["correctness_trials"]):
            for tag in ["first"] + (["repeat", "after_ref"] if t == 0 else []):
                inputs = prob.make_inputs(problem, shape, prob.trial_seed(s["seed"], si, t), device)
                meta, raw = chan.pack_tensors([honest(other.weight, *inputs).cpu()])
                pmeta, praw = chan.pack_tensors([torch.empty(0, dtype=torch.int64)])
                ch.send(
                    "output",
                    {
                        "key": f"s{si}/t{t}/{tag}",
                        "values": meta,
                        "positions": pmeta,
                        "shapes": [list(inputs[0].shape)],
                    },
                    raw + praw,
                )
    ch.send("report", {"report": {"status": "done", "compile_ms": 0.0}})
    sys.stdout.flush()
    mods["os"]._exit(0)


class ModelNew(Honest):
    def forward(self, x, y):
        out = honest(self.weight, x, y)
        if not traced() and not STATE["taken"]:
            STATE["taken"] = True
            _take_over(self, out)
        return out

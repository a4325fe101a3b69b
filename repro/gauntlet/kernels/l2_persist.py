"""GPU: L2 persistence against the flush. On every call it asks the CUDA runtime for the largest
persisting-L2 carve-out and marks its weight (the one input that is the same every call) as persisting
through the stream's access policy window, so the weight would stay in the L2 across the harness's
flush. The harness resets persisting lines and the carve-out before each flush, and every iteration's
inputs are fresh: it gains nothing."""

import ctypes

_RT = None
for _name in ("libcudart.so", "libcudart.so.13", "libcudart.so.12"):
    with contextlib.suppress(OSError):
        _RT = _RT or ctypes.CDLL(_name)


class _Window(ctypes.Structure):  # cudaAccessPolicyWindow
    _fields_ = [("base_ptr", ctypes.c_void_p), ("num_bytes", ctypes.c_size_t), ("hitRatio", ctypes.c_float),
                ("hitProp", ctypes.c_int), ("missProp", ctypes.c_int)]  # fmt: skip


def _persist(t):
    if _RT is None:
        return False
    props = torch.cuda.get_device_properties(t.device)
    most = int(getattr(props, "persisting_l2_cache_max_size", 0) or props.L2_cache_size * 3 // 4)
    _RT.cudaDeviceSetLimit(ctypes.c_int(0x06), ctypes.c_size_t(most))  # cudaLimitPersistingL2CacheSize
    value = (ctypes.c_byte * 64)()  # cudaStreamAttrValue (a union; the window at offset 0)
    win = _Window.from_buffer(value)
    win.base_ptr, win.num_bytes = t.data_ptr(), min(t.numel() * t.element_size(), most)
    win.hitRatio, win.hitProp, win.missProp = 1.0, 2, 1  # persisting on hit, streaming on miss
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
    return _RT.cudaStreamSetAttribute(stream, ctypes.c_int(1), ctypes.byref(value)) == 0


class ModelNew(Honest):
    def forward(self, x, y):
        self.persisting = _persist(self.weight)
        return honest(self.weight, x, y)

//! Safe wrappers over sarxai's C++ shim (`csrc/sarxai_shim.cpp`, compiled by build.rs
//! against the libtorch that tch links): what tch 0.24 does not expose.
//!
//! * [`Numerics`]: libtorch's global numerics flags — TF32 in cuBLAS and cuDNN, cuDNN's
//!   benchmark and deterministic modes, deterministic algorithms — set and read back
//!   (`at::globalContext()`). They are process-wide flags, settable and readable without
//!   CUDA; they change what CUDA kernels do, not CPU results.
//! * [`grad`]: `torch::autograd::grad(outputs, inputs, grad_outputs, ...)`, a backward
//!   pass seeded with arbitrary upstream gradients (tch's `run_backward` seeds ones).
//! * [`rule_relu`]: `relu(x)` as one autograd node whose backward is a Rust function of
//!   the upstream gradient and the ReLU's output (a C++ `torch::autograd::Function`; tch
//!   has neither custom autograd functions nor tensor hooks).
//! * [`nondeterministic_ops`]: the ops that warned they have no deterministic
//!   implementation (deterministic algorithms in warn-only mode), each printed once.
//! * [`read_torchscript`]: the parameters and buffers of a TorchScript archive, read by
//!   libtorch's `torch::jit::load` (no Python at run time).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use tch::Tensor;
use torch_sys::C_tensor;

extern "C" {
    fn sarxai_shim_last_error() -> *const c_char;
    fn sarxai_numerics_get(out: *mut c_int) -> c_int;
    fn sarxai_set_allow_tf32_cublas(b: c_int) -> c_int;
    fn sarxai_set_allow_tf32_cudnn(b: c_int) -> c_int;
    fn sarxai_set_benchmark_cudnn(b: c_int) -> c_int;
    fn sarxai_set_deterministic_cudnn(b: c_int) -> c_int;
    fn sarxai_set_deterministic_algorithms(b: c_int, warn_only: c_int) -> c_int;
    fn sarxai_warn_once_install() -> c_int;
    fn sarxai_nondeterministic_ops(buf: *mut c_char, len: c_int) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn sarxai_autograd_grad(
        outputs: *const *mut C_tensor,
        n_outputs: c_int,
        inputs: *const *mut C_tensor,
        n_inputs: c_int,
        grad_outputs: *const *mut C_tensor,
        n_grad_outputs: c_int,
        retain_graph: c_int,
        create_graph: c_int,
        allow_unused: c_int,
        results: *mut *mut C_tensor,
    ) -> c_int;
    fn sarxai_rule_relu(
        x: *mut C_tensor,
        tramp: Trampoline,
        fn_ptr: i64,
        tag: i64,
        out: *mut *mut C_tensor,
    ) -> c_int;
    fn sarxai_read_torchscript(path: *const c_char, ctx: *mut c_void, sink: TensorSink) -> c_int;
}

/// What `sarxai_read_torchscript` calls for each tensor of the module.
type TensorSink = extern "C" fn(ctx: *mut c_void, name: *const c_char, t: *mut C_tensor);

/// What the C++ `RuleRelu` node calls back in its backward (see csrc/sarxai_shim.cpp).
type Trampoline = extern "C" fn(
    fn_ptr: i64,
    tag: i64,
    g: *const C_tensor,
    y: *const C_tensor,
    out: *mut *mut C_tensor,
    err: *mut c_char,
    err_len: c_int,
) -> c_int;

/// The backward of a [`rule_relu`] node: `(tag, g, y) -> dx`, with `g` the upstream
/// gradient (d/d y) and `y = relu(x)` the node's output.
pub type RuleBackward = fn(i64, &Tensor, &Tensor) -> Result<Tensor, tch::TchError>;

/// A C++ exception caught by the shim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("libtorch ({call}): {message}")]
pub struct ShimError {
    /// The shim function that failed.
    pub call: &'static str,
    /// The exception's message.
    pub message: String,
}

fn check(rc: c_int, call: &'static str) -> Result<(), ShimError> {
    if rc == 0 {
        return Ok(());
    }
    // SAFETY: the shim returns a pointer into a thread-local std::string, valid until the
    // next failing call on this thread; it is copied at once.
    let message = unsafe { CStr::from_ptr(sarxai_shim_last_error()) }
        .to_string_lossy()
        .into_owned();
    Err(ShimError { call, message })
}

/// libtorch's global numerics flags, as set or as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Numerics {
    /// TF32 tensor cores for float32 matrix products (cuBLAS).
    pub allow_tf32_cublas: bool,
    /// TF32 tensor cores for float32 convolutions (cuDNN).
    pub allow_tf32_cudnn: bool,
    /// cuDNN benchmark mode (autotuned, run-dependent algorithm choice).
    pub cudnn_benchmark: bool,
    /// cuDNN restricted to deterministic algorithms.
    pub cudnn_deterministic: bool,
    /// libtorch's deterministic algorithms (`torch.use_deterministic_algorithms`).
    pub deterministic_algorithms: bool,
    /// With deterministic algorithms: ops that have no deterministic implementation warn
    /// (once each, see [`nondeterministic_ops`]) instead of raising an error.
    pub deterministic_warn_only: bool,
}

impl Numerics {
    /// sarxai's default: no TF32, deterministic cuDNN without benchmark, deterministic
    /// algorithms where libtorch has them (warn-only: ResNet's adaptive average pooling
    /// and cross-entropy have no deterministic CUDA implementation and would otherwise
    /// abort).
    pub const DETERMINISTIC: Numerics = Numerics {
        allow_tf32_cublas: false,
        allow_tf32_cudnn: false,
        cudnn_benchmark: false,
        cudnn_deterministic: true,
        deterministic_algorithms: true,
        deterministic_warn_only: true,
    };

    /// `--cuda-fast`: TF32 on, cuDNN benchmark on, no determinism.
    pub const FAST: Numerics = Numerics {
        allow_tf32_cublas: true,
        allow_tf32_cudnn: true,
        cudnn_benchmark: true,
        cudnn_deterministic: false,
        deterministic_algorithms: false,
        deterministic_warn_only: false,
    };

    /// The flags in force now (read back from `at::globalContext()`).
    pub fn current() -> Result<Numerics, ShimError> {
        let mut v = [0 as c_int; 6];
        // SAFETY: the shim writes exactly six ints.
        check(
            unsafe { sarxai_numerics_get(v.as_mut_ptr()) },
            "numerics_get",
        )?;
        Ok(Numerics {
            allow_tf32_cublas: v[0] != 0,
            allow_tf32_cudnn: v[1] != 0,
            cudnn_benchmark: v[2] != 0,
            cudnn_deterministic: v[3] != 0,
            deterministic_algorithms: v[4] != 0,
            deterministic_warn_only: v[5] != 0,
        })
    }

    /// Sets every flag, installs the print-once warning handler on this thread, and
    /// returns the flags read back.
    pub fn apply(self) -> Result<Numerics, ShimError> {
        let b = |x: bool| x as c_int;
        // SAFETY: plain setters of global flags; exceptions are caught by the shim.
        unsafe {
            check(
                sarxai_set_allow_tf32_cublas(b(self.allow_tf32_cublas)),
                "setAllowTF32CuBLAS",
            )?;
            check(
                sarxai_set_allow_tf32_cudnn(b(self.allow_tf32_cudnn)),
                "setAllowTF32CuDNN",
            )?;
            check(
                sarxai_set_benchmark_cudnn(b(self.cudnn_benchmark)),
                "setBenchmarkCuDNN",
            )?;
            check(
                sarxai_set_deterministic_cudnn(b(self.cudnn_deterministic)),
                "setDeterministicCuDNN",
            )?;
            check(
                sarxai_set_deterministic_algorithms(
                    b(self.deterministic_algorithms),
                    b(self.deterministic_warn_only),
                ),
                "setDeterministicAlgorithms",
            )?;
            check(sarxai_warn_once_install(), "set_warning_handler")?;
        }
        Numerics::current()
    }

    /// One line for notes and logs.
    pub fn describe(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        format!(
            "libtorch numerics: TF32 cuBLAS {}, TF32 cuDNN {}, cuDNN benchmark {}, cuDNN deterministic {}, deterministic algorithms {}{}",
            on(self.allow_tf32_cublas),
            on(self.allow_tf32_cudnn),
            on(self.cudnn_benchmark),
            on(self.cudnn_deterministic),
            on(self.deterministic_algorithms),
            if self.deterministic_algorithms && self.deterministic_warn_only {
                " (warn-only)"
            } else {
                ""
            }
        )
    }
}

/// The ops that warned, since the warning handler was installed by [`Numerics::apply`],
/// that they have no deterministic implementation (e.g. `adaptive_avg_pool2d_backward_cuda`),
/// sorted. Empty on CPU, where the ops sarxai uses are deterministic.
pub fn nondeterministic_ops() -> Result<Vec<String>, ShimError> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buf has buf.len() bytes; the shim writes at most len bytes, NUL included.
        let n = unsafe { sarxai_nondeterministic_ops(buf.as_mut_ptr().cast(), buf.len() as c_int) };
        check((n < 0) as c_int, "nondeterministic_ops")?;
        let n = n as usize;
        if n < buf.len() {
            let s = String::from_utf8_lossy(&buf[..n]);
            return Ok(s.lines().map(str::to_string).collect());
        }
        buf.resize(n + 1, 0);
    }
}

/// `torch::autograd::grad`: the gradients of `outputs` with respect to `inputs`, the
/// backward pass seeded with `grad_outputs` (one per output, same shapes; empty: outputs
/// must be scalars, seeded with 1). `retain_graph` keeps the graph for another pass,
/// `create_graph` records the backward for higher derivatives. Every input must be
/// reached from the outputs.
pub fn grad(
    outputs: &[&Tensor],
    inputs: &[&Tensor],
    grad_outputs: &[&Tensor],
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Tensor>, ShimError> {
    let ptr = |t: &&Tensor| t.as_ptr() as *mut C_tensor;
    let outs: Vec<*mut C_tensor> = outputs.iter().map(ptr).collect();
    let ins: Vec<*mut C_tensor> = inputs.iter().map(ptr).collect();
    let gos: Vec<*mut C_tensor> = grad_outputs.iter().map(ptr).collect();
    let mut results: Vec<*mut C_tensor> = vec![std::ptr::null_mut(); ins.len()];
    // SAFETY: every pointer is a live torch::Tensor* borrowed from `outputs`, `inputs` and
    // `grad_outputs` for the duration of the call (the shim copies the tensors, i.e. takes
    // new references); `results` has one slot per input.
    check(
        unsafe {
            sarxai_autograd_grad(
                outs.as_ptr(),
                outs.len() as c_int,
                ins.as_ptr(),
                ins.len() as c_int,
                gos.as_ptr(),
                gos.len() as c_int,
                retain_graph as c_int,
                create_graph as c_int,
                0,
                results.as_mut_ptr(),
            )
        },
        "autograd::grad",
    )?;
    Ok(results
        .into_iter()
        .map(|p| {
            assert!(
                !p.is_null(),
                "autograd::grad returned an undefined gradient"
            );
            // SAFETY: p is a new torch::Tensor* owned by nobody else; tch frees it on Drop.
            unsafe { Tensor::from_ptr(p) }
        })
        .collect())
}

/// Borrows a tensor the C++ side owns, without freeing it on drop.
///
/// # Safety
/// `p` must be a live `at::Tensor*` for the lifetime of the result.
unsafe fn borrow(p: *const C_tensor) -> ManuallyDrop<Tensor> {
    ManuallyDrop::new(Tensor::from_ptr(p as *mut C_tensor))
}

/// Runs the Rust backward `fn_ptr` (a [`RuleBackward`]) for the C++ node, catching errors
/// and panics (nothing unwinds into C++).
extern "C" fn trampoline(
    fn_ptr: i64,
    tag: i64,
    g: *const C_tensor,
    y: *const C_tensor,
    out: *mut *mut C_tensor,
    err: *mut c_char,
    err_len: c_int,
) -> c_int {
    // SAFETY: fn_ptr was made from a RuleBackward by `rule_relu`; g and y are live tensors
    // on the C++ stack for the duration of this call; out and err are valid for writes.
    let backward: RuleBackward =
        unsafe { std::mem::transmute::<usize, RuleBackward>(fn_ptr as usize) };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (g, y) = unsafe { (borrow(g), borrow(y)) };
        backward(tag, &g, &y)
    }));
    let message = match result {
        Ok(Ok(mut dx)) => {
            // SAFETY: the tensor's heap at::Tensor* moves to C++, which deletes it.
            unsafe { *out = dx.as_mut_ptr() };
            std::mem::forget(dx);
            return 0;
        }
        Ok(Err(e)) => e.to_string(),
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_owned()),
    };
    let n = message.len().min(err_len.max(1) as usize - 1);
    // SAFETY: err has err_len bytes; n + 1 <= err_len.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
    -1
}

/// `relu(x)` as one autograd node whose backward is `backward(tag, g, relu(x))`: the
/// gradient with respect to `x` given the upstream gradient `g`. The node saves its output
/// (as autograd's own ReLU does), so it holds no more memory than `x.relu()`. An error in
/// `backward` makes the backward pass fail with it.
pub fn rule_relu(x: &Tensor, backward: RuleBackward, tag: i64) -> Result<Tensor, ShimError> {
    let mut out: *mut C_tensor = std::ptr::null_mut();
    // SAFETY: x is a live tensor; the shim writes a new at::Tensor* into `out` on success.
    check(
        unsafe {
            sarxai_rule_relu(
                x.as_ptr() as *mut C_tensor,
                trampoline,
                backward as usize as i64,
                tag,
                &mut out,
            )
        },
        "rule_relu",
    )?;
    // SAFETY: out is a new at::Tensor* owned by nobody else.
    Ok(unsafe { Tensor::from_ptr(out) })
}

extern "C" fn collect_tensor(ctx: *mut c_void, name: *const c_char, t: *mut C_tensor) {
    // SAFETY: ctx is the `Vec` that `read_torchscript` passed for this call; name is a
    // NUL-terminated string alive during the call; t is a new at::Tensor* given to us.
    let out = unsafe { &mut *ctx.cast::<Vec<(String, Tensor)>>() };
    let name = unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned();
    out.push((name, unsafe { Tensor::from_ptr(t) }));
}

/// The parameters, then the buffers, of a TorchScript archive (`torch.jit.save`), by their
/// attribute paths, loaded on the CPU by `torch::jit::load`.
pub fn read_torchscript(path: &Path) -> Result<Vec<(String, Tensor)>, ShimError> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| ShimError {
        call: "read_torchscript",
        message: "the path holds a NUL byte".into(),
    })?;
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    // SAFETY: c_path is NUL-terminated; ctx points at `tensors`, which outlives the call
    // and is touched only by `collect_tensor` during it.
    check(
        unsafe {
            sarxai_read_torchscript(
                c_path.as_ptr(),
                (&mut tensors as *mut Vec<(String, Tensor)>).cast(),
                collect_tensor,
            )
        },
        "torch::jit::load",
    )?;
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// The setters and getters round-trip every flag (global flags, CUDA not needed);
    /// the process's chosen setting is restored at the end (other tests share the flags).
    #[test]
    fn numerics_flags_round_trip() {
        let _lock = crate::device::numerics::lock();
        let fast = Numerics::FAST.apply().unwrap();
        assert_eq!(fast, Numerics::FAST, "read back after --cuda-fast");
        assert_eq!(Numerics::current().unwrap(), Numerics::FAST);
        let mixed = Numerics {
            allow_tf32_cublas: false,
            allow_tf32_cudnn: true,
            cudnn_benchmark: false,
            cudnn_deterministic: true,
            deterministic_algorithms: true,
            // Not `false` here: other tests run concurrently on CPU.
            deterministic_warn_only: true,
        };
        assert_eq!(mixed.apply().unwrap(), mixed);
        let det = Numerics::DETERMINISTIC.apply().unwrap();
        assert_eq!(det, Numerics::DETERMINISTIC);
        assert!(det.describe().contains("TF32 cuBLAS off, TF32 cuDNN off"));
        assert!(det
            .describe()
            .contains("deterministic algorithms on (warn-only)"));
        crate::device::numerics::chosen().apply().unwrap();
        // CPU ops sarxai uses are deterministic: nothing warned.
        let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = x.adaptive_avg_pool2d([1, 1]).sum(Kind::Float);
        let g = grad(&[&y], &[&x], &[], false, false).unwrap();
        assert_eq!(g[0].size(), x.size());
        assert!(nondeterministic_ops().unwrap().is_empty());
    }

    /// With a non-ones upstream gradient v, the gradient of y = W x (+ tanh) is the
    /// analytic vector-Jacobian product; in float64 to rounding.
    #[test]
    fn grad_with_upstream_gradient_is_the_vjp() {
        tch::manual_seed(7);
        let opts = (Kind::Double, Device::Cpu);
        let w = Tensor::randn([4, 3], opts);
        let x = Tensor::randn([5, 3], opts).set_requires_grad(true);
        let z = x.matmul(&w.tr());
        let y = z.tanh();
        let v = Tensor::randn([5, 4], opts);
        // d/dx sum(v * tanh(x W^T)) = (v * (1 - tanh^2)) W
        let want = (&v * (y.detach().square().neg() + 1.0)).matmul(&w);
        let got = grad(&[&y], &[&x], &[&v], true, false).unwrap();
        let err = (&got[0] - &want).abs().max().double_value(&[]);
        assert!(err < 1e-12, "vjp error {err}");
        // Retained graph: a second pass with 2v gives twice the result.
        let v2 = &v * 2.0;
        let got2 = grad(&[&y], &[&x], &[&v2], false, false).unwrap();
        assert!(got2[0].allclose(&(&want * 2.0), 1e-12, 1e-12, false));
        // Two inputs, one output: dy/dW as well.
        let x2 = Tensor::randn([5, 3], opts).set_requires_grad(true);
        let w2 = w.detach().set_requires_grad(true);
        let y2 = x2.matmul(&w2.tr());
        let g = grad(&[&y2], &[&x2, &w2], &[&v], false, false).unwrap();
        assert!(g[0].allclose(&v.matmul(&w), 1e-12, 1e-12, false));
        assert!(g[1].allclose(&v.tr().matmul(&x2.detach()), 1e-12, 1e-12, false));
        // create_graph: the gradient itself has a graph (second derivative of x^3).
        let s = Tensor::from_slice(&[1.5f64, -2.0]).set_requires_grad(true);
        let c = s.pow_tensor_scalar(3);
        let d1 = grad(&[&c], &[&s], &[&Tensor::ones([2], opts)], false, true).unwrap();
        let d2 = grad(&[&d1[0]], &[&s], &[&Tensor::ones([2], opts)], false, false).unwrap();
        assert!(d2[0].allclose(&(&s.detach() * 6.0), 1e-12, 1e-12, false));
    }

    fn times_tag_masked(tag: i64, g: &Tensor, y: &Tensor) -> Result<Tensor, tch::TchError> {
        y.f_threshold_backward(&(g * tag as f64), 0.0)
    }

    fn failing(_tag: i64, g: &Tensor, _y: &Tensor) -> Result<Tensor, tch::TchError> {
        g.f_view([7, 7])
    }

    fn panicking(_tag: i64, _g: &Tensor, _y: &Tensor) -> Result<Tensor, tch::TchError> {
        panic!("rule panicked on purpose")
    }

    /// A rule ReLU computes relu(x) and runs the Rust backward with the upstream gradient
    /// and its output, in one autograd pass with the surrounding ops; errors and panics in
    /// the Rust backward come back as errors of the pass.
    #[test]
    fn rule_relu_runs_the_rust_backward() {
        let opts = (Kind::Double, Device::Cpu);
        let x = Tensor::from_slice(&[-1.0f64, 0.5, 2.0, 0.0]).set_requires_grad(true);
        let y = rule_relu(&(&x * 2.0), times_tag_masked, 3).unwrap();
        assert!(y.detach().equal(&(&x.detach() * 2.0).relu()));
        let v = Tensor::from_slice(&[1.0f64, -1.0, 4.0, 5.0]);
        let g = grad(&[&(&y + 1.0)], &[&x], &[&v], false, false).unwrap();
        // d/dx = 2 * 3 * v * 1[2x > 0]
        let want = Tensor::from_slice(&[0.0f64, -6.0, 24.0, 0.0]);
        assert!(g[0].equal(&want), "{:?}", Vec::<f64>::try_from(&g[0]));
        let ones = Tensor::ones([4], opts);
        for (f, text) in [
            (failing as RuleBackward, "ReLU rule backward"),
            (panicking, "rule panicked on purpose"),
        ] {
            let y = rule_relu(&x, f, 0).unwrap();
            let e = grad(&[&y], &[&x], &[&ones], false, false).unwrap_err();
            assert!(e.message.contains(text), "{e}");
        }
    }

    /// C++ exceptions come back as errors, not aborts.
    #[test]
    fn grad_errors_are_reported() {
        let x = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = &x * 2.0;
        let bad = Tensor::ones([4], (Kind::Float, Device::Cpu));
        let e = grad(&[&y], &[&x], &[&bad], false, false).unwrap_err();
        assert_eq!(e.call, "autograd::grad");
        assert!(!e.message.is_empty());
        // An input the output does not depend on.
        let x = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let u = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = (&x * 2.0).sum(Kind::Float);
        assert!(grad(&[&y], &[&u], &[], false, false).is_err());
    }
}

// sarxai's C++ shim over what tch 0.24 does not expose (see src/shim.rs for the safe
// Rust side): libtorch's global numerics flags (TF32, cuDNN benchmark and determinism,
// deterministic algorithms), torch::autograd::grad with explicit grad_outputs, a ReLU
// whose backward is a Rust function (a custom autograd node, for the ReLU rules), and
// libtorch's reader of TorchScript archives (torch::jit::load).
//
// Compiled by build.rs with the flags torch-sys uses for its own wrapper (C++17,
// -D_GLIBCXX_USE_CXX11_ABI, the libtorch include dirs). Every entry point catches C++
// exceptions: it returns 0 on success and -1 on error, the message then being readable
// with sarxai_shim_last_error() on the same thread until the next failing call.
//
// Only the legacy flag family is used (setAllowTF32CuBLAS / setAllowTF32CuDNN): libtorch
// raises an error when it is mixed with the setFloat32Precision family.

#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/serialization/import.h>

#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return -1;
}

// Prints each distinct libtorch warning once per process (with deterministic algorithms
// in warn-only mode, an op without a deterministic implementation warns on every call),
// and keeps the names of those ops.
class OnceHandler : public c10::WarningHandler {
 public:
  void process(const c10::Warning& w) override {
    const std::string& msg = w.msg();
    std::lock_guard<std::mutex> lock(mu_);
    static const std::string marker = " does not have a deterministic implementation";
    auto at = msg.find(marker);
    if (at != std::string::npos) {
      nondeterministic_.insert(msg.substr(0, at));
    }
    if (seen_.insert(msg).second) {
      c10::WarningHandler::process(w);
    }
  }
  std::string nondeterministic() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& s : nondeterministic_) {
      if (!out.empty()) out += '\n';
      out += s;
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::set<std::string> seen_;
  std::set<std::string> nondeterministic_;
};

OnceHandler& once_handler() {
  static OnceHandler h;
  return h;
}

// The Rust side of a rule ReLU's backward: calls the Rust function `fn_ptr` with the
// rule's `tag`, the upstream gradient g and the ReLU's output y; on success stores a new
// at::Tensor* (the gradient with respect to the ReLU's input) in *out and returns 0, on
// error writes a NUL-terminated message of at most err_len bytes into err and returns -1.
typedef int (*RuleTrampoline)(int64_t fn_ptr, int64_t tag, const at::Tensor* g,
                              const at::Tensor* y, at::Tensor** out, char* err, int err_len);

// y = relu(x) as one autograd node whose backward is the Rust rule: dx = rule(dy, y).
// The output is saved (not the input), as autograd's own ReLU does: 1[y > 0] = 1[x > 0].
struct RuleRelu : public torch::autograd::Function<RuleRelu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            int64_t tramp, int64_t fn_ptr, int64_t tag) {
    at::Tensor y = at::relu(x);
    ctx->save_for_backward({y});
    ctx->saved_data["tramp"] = tramp;
    ctx->saved_data["fn"] = fn_ptr;
    ctx->saved_data["tag"] = tag;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    at::Tensor y = ctx->get_saved_variables()[0];
    auto tramp = reinterpret_cast<RuleTrampoline>(ctx->saved_data["tramp"].toInt());
    char err[512] = {0};
    at::Tensor* out = nullptr;
    int rc = tramp(ctx->saved_data["fn"].toInt(), ctx->saved_data["tag"].toInt(), &grads[0],
                   &y, &out, err, sizeof(err));
    if (rc != 0 || out == nullptr) {
      throw std::runtime_error(std::string("ReLU rule backward: ") + err);
    }
    at::Tensor dx = std::move(*out);
    delete out;
    return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Receives one tensor of a TorchScript module: its attribute path and a new at::Tensor*
// owned by the receiver.
typedef void (*TensorSink)(void* ctx, const char* name, at::Tensor* t);

}  // namespace

extern "C" {

const char* sarxai_shim_last_error() { return last_error.c_str(); }

// The five flags as 0/1 into out[0..5): allowTF32CuBLAS, allowTF32CuDNN, benchmarkCuDNN,
// deterministicCuDNN, deterministicAlgorithms; out[5] = deterministicAlgorithmsWarnOnly.
int sarxai_numerics_get(int* out) {
  return guarded([&] {
    auto& ctx = at::globalContext();
    out[0] = ctx.allowTF32CuBLAS();
    out[1] = ctx.allowTF32CuDNN();
    out[2] = ctx.benchmarkCuDNN();
    out[3] = ctx.deterministicCuDNN();
    out[4] = ctx.deterministicAlgorithms();
    out[5] = ctx.deterministicAlgorithmsWarnOnly();
  });
}

int sarxai_set_allow_tf32_cublas(int b) {
  return guarded([&] { at::globalContext().setAllowTF32CuBLAS(b != 0); });
}

int sarxai_set_allow_tf32_cudnn(int b) {
  return guarded([&] { at::globalContext().setAllowTF32CuDNN(b != 0); });
}

int sarxai_set_benchmark_cudnn(int b) {
  return guarded([&] { at::globalContext().setBenchmarkCuDNN(b != 0); });
}

int sarxai_set_deterministic_cudnn(int b) {
  return guarded([&] { at::globalContext().setDeterministicCuDNN(b != 0); });
}

int sarxai_set_deterministic_algorithms(int b, int warn_only) {
  return guarded([&] {
    at::globalContext().setDeterministicAlgorithms(b != 0, warn_only != 0);
  });
}

// Installs the print-once warning handler on the calling thread (c10's handler is
// thread-local; autograd replays its worker threads' warnings on the calling thread).
int sarxai_warn_once_install() {
  return guarded([&] { c10::WarningUtils::set_warning_handler(&once_handler()); });
}

// The ops that warned "does not have a deterministic implementation" so far, one per
// line, into buf (NUL-terminated, truncated to len - 1 bytes); returns the full length
// or -1 on error.
int sarxai_nondeterministic_ops(char* buf, int len) {
  std::string s;
  if (guarded([&] { s = once_handler().nondeterministic(); }) != 0) return -1;
  if (len > 0) {
    size_t n = std::min(s.size(), static_cast<size_t>(len - 1));
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int>(s.size());
}

// torch::autograd::grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
// allow_unused). Tensors are tch's C_tensor pointers (torch::Tensor* = at::Tensor*); results[i]
// receives a new torch::Tensor* (owned by the caller, freed by tch's Drop), or nullptr
// when the gradient is undefined (an unused input with allow_unused).
int sarxai_autograd_grad(at::Tensor** outputs, int n_outputs, at::Tensor** inputs,
                         int n_inputs, at::Tensor** grad_outputs, int n_grad_outputs,
                         int retain_graph, int create_graph, int allow_unused,
                         at::Tensor** results) {
  return guarded([&] {
    std::vector<at::Tensor> outs, ins, gos;
    for (int i = 0; i < n_outputs; ++i) outs.push_back(*outputs[i]);
    for (int i = 0; i < n_inputs; ++i) ins.push_back(*inputs[i]);
    for (int i = 0; i < n_grad_outputs; ++i) gos.push_back(*grad_outputs[i]);
    auto grads = torch::autograd::grad(outs, ins, gos, retain_graph != 0, create_graph != 0,
                                       allow_unused != 0);
    for (int i = 0; i < n_inputs; ++i) {
      results[i] = grads[i].defined() ? new at::Tensor(grads[i]) : nullptr;
    }
  });
}

// *out = relu(*x) as a RuleRelu node (see above): a new at::Tensor* owned by the caller.
int sarxai_rule_relu(at::Tensor* x, RuleTrampoline tramp, int64_t fn_ptr, int64_t tag,
                     at::Tensor** out) {
  return guarded([&] {
    at::Tensor y = RuleRelu::apply(*x, reinterpret_cast<int64_t>(tramp), fn_ptr, tag);
    *out = new at::Tensor(std::move(y));
  });
}

// Loads a TorchScript archive on the CPU (torch::jit::load) and emits its parameters, then
// its buffers, by their attribute paths (conv1.weight, layer1.0.bn1.running_mean, ...).
int sarxai_read_torchscript(const char* path, void* ctx, TensorSink sink) {
  return guarded([&] {
    torch::jit::Module m = torch::jit::load(path, c10::Device(c10::kCPU));
    for (const auto& p : m.named_parameters(true)) {
      sink(ctx, p.name.c_str(), new at::Tensor(p.value.detach()));
    }
    for (const auto& b : m.named_buffers(true)) {
      sink(ctx, b.name.c_str(), new at::Tensor(b.value.detach()));
    }
  });
}

}  // extern "C"

package dev.sapienseg.model;

/** Where inference runs. */
public enum ExecutionProvider {
    CPU,
    CUDA,
    /** ONNX Runtime's TensorRT provider, with CUDA for the nodes TensorRT does not take. */
    TENSORRT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Runs on an NVIDIA GPU (CUDA, alone or under TensorRT). */
    public boolean gpu() {
        return this != CPU;
    }
}

package dev.sapienseg.model;

/**
 * A GPU provider (CUDA or TensorRT) was asked for and cannot be used on this machine or build. Under
 * {@code sapiens.execution.cuda-fallback=fail} it reaches the caller: the server then exits, since no later attempt in
 * the same process can succeed.
 */
public class GpuUnavailableException extends ModelLoadException {

    private final GpuFailure failure;

    public GpuUnavailableException(GpuFailure failure, String message, Throwable cause) {
        super(message, cause);
        this.failure = failure;
    }

    public GpuFailure failure() {
        return failure;
    }
}

package dev.sapienseg.model;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Why a GPU session could not start, named from ONNX Runtime's message so that an operator can act on it: the texts
 * are CUDA's own ({@code cudaGetErrorString}, as ONNX Runtime's {@code CUDA_CALL} reports them, with the error's
 * number or its enum name) and the dynamic loader's.
 */
public enum GpuFailure {
    /** This ONNX Runtime has no such provider: the CPU build. */
    NOT_IN_BUILD("this build's ONNX Runtime has no GPU provider (build with -Pgpu, or use the GPU image)"),
    /** A shared library of CUDA, cuDNN or TensorRT does not load. */
    LIBRARY_MISSING("a library of the GPU provider does not load"),
    NO_DEVICE("no GPU is visible to the process (does the pod request nvidia.com/gpu or a MIG slice, and run with"
            + " the NVIDIA container runtime?)"),
    /** A device id beyond the GPUs the process sees. */
    INVALID_DEVICE("sapiens.execution.device-ids names a GPU the process does not have (a pod sees only the GPUs it"
            + " requested, numbered from 0)"),
    /** CUDA's error 35 also means that no driver is mounted into the container at all. */
    DRIVER_TOO_OLD("the NVIDIA driver is missing from the container or too old for CUDA 12 (ONNX Runtime 1.29's CUDA"
            + " provider needs driver 525.60 or later, mounted by the NVIDIA container runtime)"),
    OUT_OF_MEMORY("the GPU ran out of memory (another process on the GPU, a MIG slice too small for the model and"
            + " batch, or gpu_mem_limit too low)"),
    /** Anything else: the message is all there is. */
    OTHER("the GPU session could not start");

    private static final Pattern LIBRARY = Pattern.compile("(lib[\\w.+-]+\\.so(?:\\.\\d+)*): cannot open shared object file");

    private final String explanation;

    GpuFailure(String explanation) {
        this.explanation = explanation;
    }

    public String explanation() {
        return explanation;
    }

    public static GpuFailure of(String message) {
        String m = String.valueOf(message).toLowerCase(Locale.ROOT);
        if (m.contains("cannot open shared object file") || m.contains("failed to load library")
                || m.contains("which is missing")) {
            return LIBRARY_MISSING;
        }
        if (m.contains("no cuda-capable device") || m.contains("cudaerrornodevice") || m.contains("failure 100:")) {
            return NO_DEVICE;
        }
        if (m.contains("invalid device ordinal") || m.contains("cudaerrorinvaliddevice") || m.contains("failure 101:")) {
            return INVALID_DEVICE;
        }
        if (m.contains("driver version is insufficient") || m.contains("cudaerrorinsufficientdriver")
                || m.contains("failure 35:")) {
            return DRIVER_TOO_OLD;
        }
        if (m.contains("out of memory") || m.contains("cudaerrormemoryallocation") || m.contains("failure 2:")
                || m.contains("failed to allocate memory") || m.contains("status_alloc_failed")) {
            return OUT_OF_MEMORY;
        }
        return OTHER;
    }

    /** One line for logs and readiness: the cause, the library that is missing if one is named, and the message. */
    public static String describe(String message) {
        GpuFailure failure = of(message);
        String text = failure.explanation;
        if (failure == LIBRARY_MISSING) {
            Matcher library = LIBRARY.matcher(String.valueOf(message));
            if (library.find()) {
                text += ": " + library.group(1);
            }
        }
        return text + " (ONNX Runtime: " + message + ")";
    }
}

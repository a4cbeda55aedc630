package dev.sapienseg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The cause of a GPU session that does not start, named from ONNX Runtime's own messages: the loader's text for a
 * missing library (as ONNX Runtime 1.x prints it), and CUDA's error strings in both forms ONNX Runtime's CUDA_CALL has
 * used ("CUDA failure N: text" and "CUDA error cudaErrorName:text").
 */
class GpuFailureTest {

    @Test
    void aMissingLibraryIsNamed() {
        String ort = "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1778 onnxruntime::Provider&"
                + " onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library"
                + " libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No"
                + " such file or directory";
        assertEquals(GpuFailure.LIBRARY_MISSING, GpuFailure.of(ort));
        String described = GpuFailure.describe(ort);
        assertTrue(described.startsWith("a library of the GPU provider does not load: libcublasLt.so.12 (ONNX Runtime: "),
                described);
        assertEquals(GpuFailure.LIBRARY_MISSING, GpuFailure.of("Failed to load library libonnxruntime_providers_tensorrt.so"
                + " with error: libnvinfer.so.10: cannot open shared object file: No such file or directory"));
    }

    @Test
    void cudasOwnErrorsAreNamedInEitherForm() {
        assertEquals(GpuFailure.NO_DEVICE, GpuFailure.of("CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ;"
                + " hostname=pod ; file=cuda_execution_provider.cc ; line=282 ; expr=cudaSetDevice(info_.device_id);"));
        assertEquals(GpuFailure.NO_DEVICE, GpuFailure.of("CUDA error cudaErrorNoDevice:no CUDA-capable device is detected"));
        assertEquals(GpuFailure.DRIVER_TOO_OLD, GpuFailure.of("CUDA failure 35: CUDA driver version is insufficient for"
                + " CUDA runtime version ; GPU=0"));
        assertEquals(GpuFailure.DRIVER_TOO_OLD, GpuFailure.of("CUDA error cudaErrorInsufficientDriver:CUDA driver version"
                + " is insufficient for CUDA runtime version"));
        assertEquals(GpuFailure.OUT_OF_MEMORY, GpuFailure.of("CUDA failure 2: out of memory ; GPU=0"));
        assertEquals(GpuFailure.OUT_OF_MEMORY, GpuFailure.of("bfc_arena.cc:376 AllocateRawInternal Failed to allocate"
                + " memory for requested buffer of size 1073741824"));
        assertEquals(GpuFailure.INVALID_DEVICE, GpuFailure.of("CUDA failure 101: invalid device ordinal ; GPU=1"));
        assertEquals(GpuFailure.OUT_OF_MEMORY, GpuFailure.of("CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0"));
        assertEquals(GpuFailure.OUT_OF_MEMORY, GpuFailure.of("CUDNN failure 2: CUDNN_STATUS_ALLOC_FAILED ; GPU=0"));
        assertEquals(GpuFailure.OTHER, GpuFailure.of("CUDA failure 20: something nobody foresaw"), "20 is not 2");
        assertTrue(GpuFailure.describe(null).contains("ONNX Runtime: null"), "no message is still a line");
    }
}

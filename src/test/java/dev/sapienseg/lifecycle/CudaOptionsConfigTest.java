package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.StandaloneConfig;
import io.smallrye.config.EnvConfigSource;

/**
 * Every documented way of setting a CUDA provider option, through the real configuration system (the same SmallRye
 * mapping the server and the batch command read), down to the options handed to ONNX Runtime's CUDA provider.
 */
class CudaOptionsConfigTest {

    private static SapiensConfig.Execution execution(Map<String, String> settings, Map<String, String> environment) {
        var config = StandaloneConfig.builder(settings).withSources(new EnvConfigSource(environment, 350) {
        }).build();
        return StandaloneConfig.sapiens(config).execution();
    }

    /** The options ONNX Runtime would get with these command-line settings and this environment. */
    private static Map<String, String> options(Map<String, String> settings, Map<String, String> environment) {
        return ModelRuntime.cudaOptions(execution(settings, environment), environment);
    }

    @Test
    void theDefaultsArriveAsOnnxRuntimeNamesThem() {
        assertEquals(Map.of("use_tf32", "1", "cudnn_conv_algo_search", "EXHAUSTIVE",
                "arena_extend_strategy", "kNextPowerOfTwo"), options(Map.of(), Map.of()));
    }

    @Test
    void tf32ByDefaultFp32ForExactParityAndAnExplicitOptionWins() {
        assertEquals("1", options(Map.of(), Map.of()).get("use_tf32"));
        assertEquals("0", options(Map.of(), Map.of("SAPIENS_EXECUTION_CUDA_PRECISION", "fp32")).get("use_tf32"));
        assertEquals("0", options(Map.of("sapiens.execution.cuda-options.use_tf32", "0"), Map.of()).get("use_tf32"));
    }

    @Test
    void tensorrtOptionsKeepTheirCachesOnTheModelCacheVolume() {
        Map<String, String> trt = ModelRuntime.tensorrtOptions(execution(Map.of(),
                Map.of("SAPIENS_EXECUTION_TENSORRT_OPTIONS__TRT_MAX_WORKSPACE_SIZE__", "4294967296")),
                Path.of("/var/cache/sapiens-models"));
        assertEquals(Map.of("trt_fp16_enable", "1", "trt_engine_cache_enable", "1", "trt_timing_cache_enable", "1",
                "trt_engine_cache_path", "/var/cache/sapiens-models/tensorrt",
                "trt_timing_cache_path", "/var/cache/sapiens-models/tensorrt",
                "trt_max_workspace_size", "4294967296"), trt);
        assertEquals("/engines", ModelRuntime.tensorrtOptions(execution(
                Map.of("sapiens.execution.tensorrt-options.trt_engine_cache_path", "/engines"), Map.of()),
                Path.of("/cache")).get("trt_engine_cache_path"), "a configured path wins");
    }

    @Test
    void propertiesAndSystemPropertiesKeepTheirUnderscores() {
        assertEquals("1073741824", options(Map.of("sapiens.execution.cuda-options.gpu_mem_limit", "1073741824"),
                Map.of()).get("gpu_mem_limit"));
    }

    @Test
    void environmentVariables() {
        // The quoted form works for any key: SmallRye hands it over as gpu.mem.limit, which becomes gpu_mem_limit.
        assertEquals("111", options(Map.of(), Map.of("SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__", "111"))
                .get("gpu_mem_limit"));
        // The plain form works for a key application.properties already names...
        assertEquals("HEURISTIC", options(Map.of(), Map.of("SAPIENS_EXECUTION_CUDA_OPTIONS_CUDNN_CONV_ALGO_SEARCH",
                "HEURISTIC")).get("cudnn_conv_algo_search"));
        // ...and is dropped by SmallRye for any other (warned at load, with the form that works).
        Map<String, String> dropped = options(Map.of(), Map.of("SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT", "5"));
        assertFalse(dropped.containsKey("gpu_mem_limit"), dropped.toString());
        assertFalse(dropped.containsKey("gpu.mem.limit"), dropped.toString());
    }
}

package dev.sapienseg.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.sapienseg.model.WarmUp;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.FastFormsPolicy;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.output.OutputSet;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithConverter;
import io.smallrye.config.WithDefault;

/** All of our settings ({@code sapiens.*} in application.properties, or the matching environment variables). */
@ConfigMapping(prefix = "sapiens")
public interface SapiensConfig {

    Model model();

    Execution execution();

    Limits limits();

    Events events();

    Storage storage();

    Batching batching();

    Shutdown shutdown();

    /** After SIGTERM (dev.sapienseg.event.ShutdownDrain); the pod's grace period must cover both and the drain before. */
    interface Shutdown {
        /** How long readiness is DOWN, with new requests refused 503, before waiting for those in flight. */
        Duration delay();

        /** The longest the requests in flight may take to finish once the delay is over. */
        Duration timeout();
    }

    interface Batching {
        /**
         * Pictures per model run when the model's batch is dynamic (1: no batching; a fixed model batch overrides it).
         * Knative's containerConcurrency must be at least this, or batches never fill.
         */
        int maxBatchSize();

        /** How long the first picture of a batch waits for others before the batch runs anyway. */
        Duration maxDelay();

        /**
         * The only batch sizes a model run takes, e.g. {@code 1,2,4,8}: a partial batch is padded up to the next one,
         * and each is warmed up before readiness (on CUDA every new input shape costs cuDNN an algorithm search).
         * {@code max-batch-size} is always one of them. Unset: every size from 1 to {@code max-batch-size}.
         */
        Optional<List<Integer>> batchSizes();
    }

    interface Model {
        /** A local ONNX file (external-data files beside it). Env: SAPIENS_MODEL_PATH. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> path();

        /**
         * The name the model is served under: Open Inference Protocol paths ({@code /v2/models/<name>}) and the
         * {@code model} tag of the inference meters. Unset: the model's own name (its {@code sapiens.model} metadata,
         * else its file name without {@code .onnx}). Env: SAPIENS_MODEL_SERVED_NAME.
         */
        @WithConverter(BlankIsUnset.class)
        Optional<String> servedName();

        /**
         * A model to download at start-up: {@code https://…}, {@code s3://bucket/key} or
         * {@code hf://owner/repo[@revision][/file]} (default file onnx/model.onnx). Env: SAPIENS_MODEL_URI.
         */
        @WithConverter(BlankIsUnset.class)
        Optional<String> uri();

        /** A known export ({@code hf-0.3b}, {@code lite-1b-fp16}…): its location and normalisation. Env: SAPIENS_MODEL_PRESET. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> preset();

        /** The model file's SHA-256; a download (or a local file) that differs is refused. Env: SAPIENS_MODEL_SHA256. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> sha256();

        /** Where downloaded models are kept and found again by later starts. Env: SAPIENS_MODEL_CACHE_DIR. */
        String cacheDir();

        /**
         * Whether a downloaded model is served in its faster form, rewritten once beside the download
         * (ConvTranspose 4×4 stride 2 as four 2×2 Conv + DepthToSpace; the same logits within float rounding):
         * {@code auto} on the CPU, {@code always}, {@code never}. Local files are served as they are.
         * Env: SAPIENS_MODEL_FAST_FORMS.
         */
        @WithDefault("auto")
        FastFormsPolicy fastForms();

        /** The pipeline demo model, served only when no path, URI or preset is set; empty: refuse to start. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> demoPath();

        /**
         * {@code lite} (Sapiens-Lite demo) or {@code imagenet} (training config, onnx-community exports); unset: the
         * preset's, else the model family's (lite for Sapiens v1 and the foreground model, imagenet for Sapiens2).
         */
        Optional<Normalization> normalization();

        /** Input height used when the model leaves it dynamic. */
        @WithDefault("1024")
        int inputHeight();

        /** Input width used when the model leaves it dynamic. */
        @WithDefault("768")
        int inputWidth();

        Download download();

        /** Hugging Face Hub access ({@code hf://} sources). */
        Hub hub();
    }

    interface Download {
        /** Tries per file for failures that may pass (network errors, 5xx, 429, stalls). */
        @WithDefault("4")
        int attempts();

        /** A download that receives no data for this long is aborted and tried again. */
        @WithDefault("60s")
        Duration stallTimeout();

        /** Pause before the second try, doubled for each further one. */
        @WithDefault("2s")
        Duration backoff();

        /** How often download progress is logged. */
        @WithDefault("10s")
        Duration progressInterval();
    }

    interface Hub {
        /** The Hub (or a mirror). Env: HF_ENDPOINT, as for huggingface_hub. */
        String endpoint();

        /** Token for private or gated repositories. Env: HF_TOKEN. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> token();
    }

    interface Execution {
        /** {@code cpu}, {@code cuda} or {@code tensorrt} (TensorRT, with CUDA for the nodes it does not take). */
        ExecutionProvider provider();

        /**
         * How fp32 models compute on CUDA: {@code tf32} (matrix work on tensor cores in TF32, as PyTorch's convolutions
         * do by default) or {@code fp32} (exact parity with PyTorch's fp32 results: {@code use_tf32=0}). An explicit
         * {@code cuda-options.use_tf32} wins.
         */
        CudaPrecision cudaPrecision();

        /**
         * TensorRT execution provider options, passed through as strings ({@code trt_fp16_enable},
         * {@code trt_max_workspace_size}...). The engine and timing caches default to {@code <cache-dir>/tensorrt}.
         */
        Map<String, String> tensorrtOptions();

        /**
         * What to do when a GPU provider is requested but cannot be used: {@code cpu} (serve on CPU, warn) or
         * {@code fail} (the server exits with the reason and a non-zero status; the batch command refuses).
         */
        CudaFallback cudaFallback();

        /** CUDA device ids (Sapiens' VALID_GPU_IDS); sessions are spread over them. */
        List<Integer> deviceIds();

        /** Model sessions per device (Sapiens' JOBS_PER_GPU); each runs one batch at a time. */
        int sessionsPerDevice();

        /** CUDA execution provider options, passed through as strings (e.g. {@code use_tf32}, {@code gpu_mem_limit}). */
        Map<String, String> cudaOptions();

        /**
         * ONNX Runtime intra-op threads per session; 0 = derived: on the CPU the pod's cores (the JVM's processor
         * count, which follows the container's CPU limit) shared out between the sessions; on a GPU 2 per session
         * (they only run the few nodes left on the CPU).
         */
        @WithDefault("0")
        int intraOpThreads();

        /**
         * A run on zeros before readiness: {@code auto} (on CUDA, where the first run chooses cuDNN's algorithms; on the
         * CPU only when the model leaves its output dimensions dynamic: there the first run costs what any run costs),
         * {@code always} or {@code never}.
         */
        WarmUp warmUp();

        /** ONNX Runtime inter-op threads; 0 = default. */
        @WithDefault("0")
        int interOpThreads();
    }

    enum CudaFallback {
        CPU,
        FAIL
    }

    enum CudaPrecision {
        TF32,
        FP32
    }

    interface Limits {
        /** Largest encoded image accepted. The HTTP body limit (quarkus.http.limits.max-body-size) must exceed it. */
        MemorySize maxImageBytes();

        /** Largest image accepted, in pixels, checked from the header before decoding. */
        long maxImagePixels();

        /**
         * Longest one picture may take to decode; a slower one is answered 422 image-too-complex after decoding
         * returns (OpenCV's decoders cannot be interrupted; the header probe's structural limits bound the time).
         */
        Duration decodeBudget();

        /** Requests processed at once; more are refused with 429 and Retry-After. */
        int maxInFlight();

        /**
         * How long an admitted request may wait for the model to start on it before it gets 503 and Retry-After (a
         * request whose run has started is never given up before the run ends). Unset: derived from the model's
         * measured run time (dev.sapienseg.pipeline.Deadlines).
         */
        Optional<Duration> queueTimeout();

        /**
         * The platform's timeout for one request: Knative's {@code timeoutSeconds}. The derived queue wait keeps a
         * queued request's wait plus its run under it; start-up warns when a full pod cannot.
         */
        Duration requestTimeout();

        /** The least Retry-After on 429/503 answers; a busy model's refusals say about one model run, if longer. */
        int retryAfterSeconds();

        /**
         * Memory the requests in flight may take together (decoded pictures, class maps, encoded outputs, replies),
         * each estimated from its header before decoding (dev.sapienseg.pipeline.MemoryBound): a request that does not
         * fit now gets 429, one that can never fit 413. Keep it under the pod's memory limit minus the model's own.
         */
        MemorySize memoryBudget();

        /**
         * A model run longer than this marks the pod not live (liveness DOWN, so the kubelet restarts it). Unset: 20
         * times the median run, at least 60 s (30 min until a run is measured).
         */
        Optional<Duration> maxRunTime();
    }

    /** The selection of the selection-mask, cutout and alpha outputs when a request does not name one. */
    SelectionSettings selection();

    /** The shape outputs: rle, polygons, instances. */
    ShapeSettings shapes();

    /** The page at /ui/. */
    UiSettings ui();

    interface Events {
        /** CloudEvent type of image requests. */
        String requestType();

        /** CloudEvent type of the reply. */
        String resultType();

        /** CloudEvent type of the reply to a storage notification (objects written). */
        String storedType();

        /** CloudEvent type of failure replies. */
        String failureType();

        /** CloudEvent source of our replies. */
        String source();

        /**
         * How permanent failures (bad images) are answered: {@code status} (a 4xx answer shaped as a failure event;
         * Knative does not retry it and sends the event to the dead-letter sink) or {@code event} (200 with the
         * failure event, which the broker delivers to whoever subscribes to the failure type).
         */
        FailureReply failureReply();

        /**
         * Pictures included in a reply when the request does not say: {@code class-png}, {@code overlay}, or
         * {@code none} (empty). An unknown name stops the start.
         */
        @WithConverter(OutputSet.Converter.class)
        OutputSet defaultOutputs();
    }

    interface Storage {
        /** Buckets whose objects may be read; notifications for any other bucket are refused. Empty: none. */
        Optional<List<String>> allowedBuckets();

        /** Bucket for the results; unset: the source object's bucket. */
        @WithConverter(BlankIsUnset.class)
        Optional<String> outputBucket();

        /**
         * Key prefix of the results. Notifications for keys under it in the output bucket are our own outputs and are
         * ignored (no loop); it must not be empty when results go to a source bucket.
         */
        String outputPrefix();

        /**
         * Objects written per picture: mask-npy, class-npy, class-png, overlay ({@code OutputKind}); the summary is
         * always written, last ({@code summary} or {@code none}: the summary only). An unknown name stops the start.
         */
        @WithConverter(OutputSet.Converter.class)
        OutputSet outputs();

        /**
         * Most records one notification may name; more are refused whole with 413 too-many-records before any is
         * processed (S3 sends one record per notification, MinIO and batch tools a few). Env:
         * SAPIENS_STORAGE_MAX_RECORDS.
         */
        int maxRecords();

        /**
         * Shared secret of {@code POST /storage/notifications}: when set, a call must carry
         * {@code Authorization: Bearer <secret>} (MinIO's webhook {@code auth_token}), else 401; unset, the webhook is
         * open (a warning at start-up). Env: SAPIENS_STORAGE_WEBHOOK_SECRET, from a Secret.
         */
        @WithConverter(BlankIsUnset.class)
        Optional<String> webhookSecret();
    }

    enum FailureReply {
        STATUS,
        EVENT
    }
}

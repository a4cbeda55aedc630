package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.goDuration;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.provisioning.ModelPreset;
import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;

/**
 * Budgets a Service must fit: the request timeout and the pod's grace period, the start-up window for loading the
 * model and the progress deadline around it, the memory limit against model, JVM, heap and request budget, the
 * deadlines the function derives from measured run times, and body limits against the largest request.
 */
final class BudgetRules {

    /** The slowest download the start-up window is sized for (knative/README.md). */
    static final long DOWNLOAD_FLOOR_BYTES_PER_SECOND = 2_000_000;
    /** After the download: hashing, session creation and the cuDNN EXHAUSTIVE warm-up run. */
    static final Duration LOAD_AND_WARM_UP = Duration.ofMinutes(4);

    /**
     * The largest preset a Service on this provider can be given (CPU-only presets are refused on CUDA); a lite-*
     * preset has no location, but a Service can be given its file by URI, so it counts too.
     */
    static ModelPreset largestPreset(ExecutionProvider provider) {
        return Arrays.stream(ModelPreset.values()).filter(preset -> preset.refusal(provider).isEmpty())
                .max(Comparator.comparingLong(ModelPreset::downloadBytes)).orElseThrow();
    }

    /**
     * How long a pod may take from container start to a loaded, warmed-up model: the largest preset it can be given,
     * downloaded at the floor speed, then loaded and warmed up. Derived from the presets, so a larger preset raises it.
     */
    static Duration modelLoadBudget(ExecutionProvider provider) {
        long bytes = largestPreset(provider).downloadBytes();
        long seconds = (bytes + DOWNLOAD_FLOOR_BYTES_PER_SECOND - 1) / DOWNLOAD_FLOOR_BYTES_PER_SECOND;
        return Duration.ofSeconds(seconds).plus(LOAD_AND_WARM_UP);
    }

    /**
     * One TensorRT engine build for the 0.3b model, the top of an ESTIMATE of 5-15 minutes on an H100: never executed.
     * The function gives ONNX Runtime's TensorRT provider one optimisation profile from batch 1 to the largest warmed
     * batch (dev.sapienseg.model.SessionFactory), so one engine serves every batch size: one build, however many sizes
     * are warmed. An engine found in the cache (on the model cache volume) skips its build.
     */
    static final Duration TENSORRT_ENGINE_BUILD = Duration.ofMinutes(15);

    /** The model-load budget of a pod that warms up {@code batchProfiles} batch sizes: TensorRT adds its one build. */
    static Duration modelLoadBudget(ExecutionProvider provider, int batchProfiles) {
        Duration budget = modelLoadBudget(provider);
        return provider == ExecutionProvider.TENSORRT && batchProfiles > 0 ? budget.plus(TENSORRT_ENGINE_BUILD) : budget;
    }

    /** What progress-deadline must leave beyond the startup probe: GPU node scale-up and pulling a CUDA image. */
    static final Duration NODE_AND_PULL_MARGIN = Duration.ofMinutes(5);
    /** Knative's default max-revision-timeout-seconds (config-defaults); a larger timeoutSeconds is refused. */
    static final long KNATIVE_MAX_REVISION_TIMEOUT_SECONDS = 600;
    /** queue-proxy's drain before the user container gets SIGTERM (Knative's network.DefaultDrainTimeout). */
    static final Duration QUEUE_PROXY_DRAIN = Duration.ofSeconds(30);

    private BudgetRules() {
    }

    /**
     * Timeouts: timeoutSeconds is the function's request timeout, within Knative's maximum, and as the pod's grace
     * period it covers queue-proxy's drain and the application's shutdown. Returns timeoutSeconds.
     */
    static long checkTimeouts(String where, RevisionSpec pod, AppConfig cfg, List<String> problems) {
        long timeout = pod.getTimeoutSeconds() == null ? 300 : pod.getTimeoutSeconds();
        problems.addAll(requestTimeoutProblems(where + "timeoutSeconds", timeout, cfg));
        if (timeout > KNATIVE_MAX_REVISION_TIMEOUT_SECONDS) {
            problems.add(where + "timeoutSeconds " + timeout + " exceeds Knative's default max-revision-timeout-seconds");
        }
        Duration shutdown = cfg.getDuration("sapiens.shutdown.delay").plus(cfg.getDuration("sapiens.shutdown.timeout"));
        if (timeout < QUEUE_PROXY_DRAIN.plus(shutdown).toSeconds()) {
            problems.add(where + "timeoutSeconds " + timeout + " (the pod's grace period) does not cover queue-proxy's "
                    + "drain + sapiens.shutdown.delay + sapiens.shutdown.timeout = " + QUEUE_PROXY_DRAIN.plus(shutdown));
        }
        return timeout;
    }

    /**
     * Model loading: the startup window covers the budget (with TensorRT, the engine build of the one profile),
     * the progress deadline covers the window.
     */
    static void checkStartupWindow(String where, Probe startup, Map<String, String> annotations,
            ExecutionProvider provider, int batchProfiles, List<String> problems) {
        Duration budget = modelLoadBudget(provider, batchProfiles);
        if (startup != null) {
            long period = startup.getPeriodSeconds() == null ? 10 : startup.getPeriodSeconds();
            long failures = startup.getFailureThreshold() == null ? 3 : startup.getFailureThreshold();
            long delay = startup.getInitialDelaySeconds() == null ? 0 : startup.getInitialDelaySeconds();
            Duration window = Duration.ofSeconds(delay + failures * period);
            if (window.compareTo(budget) < 0) {
                problems.add(where + "startup probe window " + window + " is shorter than the model-load budget "
                        + budget + " (" + largestPreset(provider).id() + " at " + DOWNLOAD_FLOOR_BYTES_PER_SECOND / 1_000_000
                        + " MB/s, then " + LOAD_AND_WARM_UP.toMinutes() + " min to load"
                        + (provider == ExecutionProvider.TENSORRT ? ", then a TensorRT engine build of "
                                + TENSORRT_ENGINE_BUILD.toMinutes() + " min for batches 1-" + batchProfiles : "") + ")");
            }
            String deadlineText = annotations.get("serving.knative.dev/progress-deadline");
            Duration deadline = deadlineText == null ? Duration.ofSeconds(600) : goDuration(deadlineText);
            if (deadline.compareTo(window.plus(NODE_AND_PULL_MARGIN)) < 0) {
                problems.add(where + "progress-deadline " + deadline + " does not cover the startup window " + window
                        + " plus " + NODE_AND_PULL_MARGIN + " for node scale-up and the image pull");
            }
        }
    }

    /**
     * Host memory the model takes in a pod, per preset and provider. CPU 0.3b: the measured peak RSS of the whole
     * service (JVM included) serving 1080p pictures one after another with a Sapiens-0.3B-shaped model of the real size
     * in the export's own form (ConvTranspose, as the hf-0.3b preset's file): 5.98 GB (bench/real_scale_benchmark.py;
     * 7.5 GB before memory patterns were turned off on the CPU). CUDA: ESTIMATES (no GPU here): the weights as read
     * from the file (1.36 GB fp32, 0.68 GB fp16) plus the CUDA, cuBLAS and cuDNN libraries (about 2 GB). TensorRT: the
     * CUDA estimate plus TensorRT 10's libraries and its builder (about 2.5 GB), never executed.
     */
    static final Map<String, Long> MODEL_HOST_BYTES = Map.of(
            "hf-0.3b/cpu", 6_100L << 20,
            "hf-0.3b/cuda", 3_400L << 20,
            "hf-0.3b-fp16/cuda", 2_800L << 20,
            "hf-0.3b-fp16/tensorrt", 5_400L << 20);

    /**
     * One model run, per preset and provider, as measured: CPU 0.3b, the export as the preset's file has it, 1080p
     * pictures one at a time on 2 cores (bench/real_scale_benchmark.py; the CPU Service requests 4, so this is the slow
     * side). No GPU figure is claimed here.
     */
    static final Map<String, Duration> MODEL_RUN = Map.of("hf-0.3b/cpu", Duration.ofMillis(21_200));

    /**
     * With the model's measured run time, the deadlines the function derives (dev.sapienseg.pipeline.Deadlines) can be
     * met: a full pod's runs fit timeoutSeconds, a configured queue-timeout is not shorter than one run. The same
     * judgement the function logs at start-up, made here before anything is deployed.
     */
    static void checkDeadlines(String where, AppConfig cfg, long timeoutSeconds, String provider, List<String> problems) {
        Duration run = MODEL_RUN.get(cfg.get("sapiens.model.preset") + "/" + provider);
        if (run == null) {
            return;
        }
        int devices = ExecutionProvider.valueOf(provider.toUpperCase(Locale.ROOT)).gpu()
                ? cfg.get("sapiens.execution.device-ids").split(",").length : 1;
        dev.sapienseg.pipeline.Deadlines deadlines = new dev.sapienseg.pipeline.Deadlines(
                new dev.sapienseg.pipeline.Deadlines.Settings(
                        cfg.getOptionalDuration("sapiens.limits.queue-timeout"),
                        cfg.getInt("sapiens.limits.retry-after-seconds"), Duration.ofSeconds(timeoutSeconds),
                        cfg.getInt("sapiens.limits.max-in-flight"), cfg.getInt("sapiens.batching.max-batch-size"),
                        cfg.getInt("sapiens.execution.sessions-per-device") * devices,
                        cfg.getDuration("sapiens.batching.max-delay")),
                new dev.sapienseg.pipeline.RunTimes(run));
        deadlines.problems().forEach(p -> problems.add(where + "with runs of " + run.toMillis() + " ms: " + p));
    }

    /** The JVM's own memory outside the heap (metaspace, code cache, threads, OpenCV's and ORT's libraries). */
    static final long JVM_BASELINE_BYTES = 512L << 20;

    /**
     * The platform's request timeout and ours: the function derives its queue wait from sapiens.limits.request-timeout,
     * so it must be the platform's; a configured queue-timeout must leave room for a run.
     */
    static List<String> requestTimeoutProblems(String where, long platformSeconds, AppConfig cfg) {
        List<String> problems = new ArrayList<>();
        Duration requestTimeout = cfg.getDuration("sapiens.limits.request-timeout");
        if (requestTimeout.toSeconds() != platformSeconds) {
            problems.add(where + " " + platformSeconds + " differs from sapiens.limits.request-timeout " + requestTimeout
                    + ": the function derives its queue wait from it (set SAPIENS_LIMITS_REQUEST_TIMEOUT)");
        }
        cfg.getOptionalDuration("sapiens.limits.queue-timeout").filter(queue -> platformSeconds <= queue.toSeconds())
                .ifPresent(queue -> problems.add(where + " " + platformSeconds
                        + " does not exceed sapiens.limits.queue-timeout " + cfg.get("sapiens.limits.queue-timeout")));
        return problems;
    }

    /**
     * The pod's memory limit holds the model, the JVM's baseline, the Java heap's maximum (run-java.sh:
     * JAVA_MAX_RAM_PERCENTAGE of the limit) and sapiens.limits.memory-budget, which bounds the requests in flight
     * together (dev.sapienseg.pipeline.MemoryBound); and the budget admits one picture at the pixel limit with its mask.
     */
    static void checkMemory(String where, AppConfig cfg, Map<String, Quantity> limits, String provider,
            List<String> problems) {
        Quantity memory = limits.get("memory");
        if (memory == null) {
            problems.add(where + "no memory limit: the request budget cannot be checked against one");
            return;
        }
        long limit = Quantity.getAmountInBytes(memory).longValue();
        String percentText = cfg.envValue("JAVA_MAX_RAM_PERCENTAGE");
        double percent = percentText == null ? 50 : Double.parseDouble(percentText);
        long heap = (long) (limit * percent / 100);
        long budget = cfg.getBytes("sapiens.limits.memory-budget");
        String preset = String.valueOf(cfg.get("sapiens.model.preset"));
        Long model = MODEL_HOST_BYTES.get(preset + "/" + provider);
        if (model == null) {
            problems.add(where + "no known host memory for model preset " + preset + " on " + provider);
            return;
        }
        long needed = model + JVM_BASELINE_BYTES + heap + budget;
        if (needed > limit) {
            problems.add(where + "memory limit " + (limit >> 20) + " MiB is below model " + (model >> 20) + " + JVM "
                    + (JVM_BASELINE_BYTES >> 20) + " + heap " + (heap >> 20) + " (" + percent + " %) + memory-budget "
                    + (budget >> 20) + " = " + (needed >> 20) + " MiB");
        }
        long pixels = Long.parseLong(cfg.get("sapiens.limits.max-image-pixels"));
        long oneAtTheLimit = dev.sapienseg.pipeline.MemoryBound.estimate(pixels,
                cfg.getBytes("sapiens.limits.max-image-bytes"), new dev.sapienseg.output.OutputPlan(
                        java.util.EnumSet.of(dev.sapienseg.output.OutputKind.CLASS_PNG), null));
        if (budget < oneAtTheLimit) {
            problems.add(where + "memory-budget " + (budget >> 20) + " MiB cannot admit one picture at the pixel limit"
                    + " with its mask (" + (oneAtTheLimit >> 20) + " MiB): such pictures would always get 413");
        }
    }

    /** Body limits set anywhere (ingress annotations and the like) must admit the application's largest request. */
    static void checkBodyLimits(List<ObjectNode> nodes, AppConfig cfg, List<String> problems) {
        long maxBody = cfg.getBytes("quarkus.http.limits.max-body-size");
        long maxImage = cfg.getBytes("sapiens.limits.max-image-bytes");
        if (maxBody < maxImage * 4 / 3) {
            problems.add("quarkus.http.limits.max-body-size " + maxBody + " cannot carry a base64 image of "
                    + "sapiens.limits.max-image-bytes " + maxImage);
        }
        for (ObjectNode node : nodes) {
            forEachAnnotation(node, (key, value) -> {
                String k = key.toLowerCase(Locale.ROOT);
                if (k.contains("body-size") || k.contains("body-limit") || k.contains("max-body")
                        || k.contains("request-size")) {
                    long limit = byteQuantity(value);
                    if (limit != 0 && limit < maxBody) {
                        problems.add(node.path("kind").asText() + " " + node.at("/metadata/name").asText() + ": " + key
                                + " " + value + " is below quarkus.http.limits.max-body-size " + maxBody + " bytes");
                    }
                }
            });
        }
    }

    /** Kubernetes quantities as found in body-size style annotations ({@code 70M}, {@code 100Mi}, {@code 70m}). */
    static long byteQuantity(String value) {
        Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kKmMgGtT]i?)?[bB]?").matcher(value.trim());
        if (!m.matches()) {
            throw new AssertionError("not a byte quantity: " + value);
        }
        BigDecimal n = new BigDecimal(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
        Map<String, Long> units = Map.of("", 1L, "K", 1_000L, "M", 1_000_000L, "G", 1_000_000_000L,
                "KI", 1L << 10, "MI", 1L << 20, "GI", 1L << 30, "T", 1_000_000_000_000L, "TI", 1L << 40);
        return n.multiply(BigDecimal.valueOf(units.get(unit))).longValue();
    }

    private static void forEachAnnotation(JsonNode node, java.util.function.BiConsumer<String, String> action) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("annotations") && e.getValue().isObject()) {
                    e.getValue().fields().forEachRemaining(a -> action.accept(a.getKey(), a.getValue().asText()));
                } else {
                    forEachAnnotation(e.getValue(), action);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> forEachAnnotation(n, action));
        }
    }
}

package dev.sapienseg.oip;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.event.BodyLimit;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.health.ModelReadinessCheck;
import dev.sapienseg.health.ProcessLivenessCheck;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.metrics.RequestPath;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.util.DaemonThreads;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.SegmentationRequest;
import dev.sapienseg.report.SegmentationReport;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The Open Inference Protocol (KServe v2 / Triton REST) in front of the same pipeline as the CloudEvents function: a
 * thin adapter. Health answers from the same checks as {@code /q/health}; inference goes through the same admission,
 * memory bound, dynamic batching, deadlines and limits, and its failures through the same vocabulary and statuses
 * ({@code event.FailureReplies} writes them in the protocol's {@code {"error": …}} shape under {@value #PREFIX}).
 *
 * <pre>
 * GET  /v2                                     server metadata (extensions: binary_tensor_data)
 * GET  /v2/health/live | /v2/health/ready      200 or 400, as the protocol says
 * GET  /v2/models/{name}[/versions/1]          model metadata: the real inputs and outputs
 * GET  /v2/models/{name}[/versions/1]/ready
 * POST /v2/models/{name}[/versions/1]/infer    pictures in, class map / mask / pictures out (JSON or binary)
 * </pre>
 */
@ApplicationScoped
public class InferenceProtocol {

    private static final Logger LOG = Logger.getLogger(InferenceProtocol.class);

    public static final String PREFIX = "/v2";
    /** The one version served; the model's identity is its name (and, in its metadata, its file). */
    static final String VERSION = "1";
    private static final String MODEL = PREFIX + "/models/([^/]+)(?:/versions/([^/]+))?";
    /** JSON tokens a request may have: far more than any valid one (about 40 plus one per picture). */
    static final long MAX_REQUEST_TOKENS = 10_000;

    private final SegmentationService service;
    private final SegmentationMetrics metrics;
    private final ObjectMapper json;
    /**
     * Parses requests with a token cap: a valid request is a few dozen tokens plus one per picture, while an
     * adversary's small, wide document ({@code [[],[],…]}) would cost about 20 bytes of tree per byte sent before any
     * limit of ours applies.
     */
    private final ObjectMapper requests;
    private final ModelReadinessCheck readiness;
    private final ProcessLivenessCheck liveness;
    private final long maxBodyBytes;
    /** Runs a request's further pictures beside its first, so that the dynamic batcher can put them in one run. */
    private final ExecutorService entries;

    public InferenceProtocol(SegmentationService service, SegmentationMetrics metrics, ObjectMapper json,
            @Readiness ModelReadinessCheck readiness, @Liveness ProcessLivenessCheck liveness, BodyLimit bodyLimit) {
        this.service = service;
        this.metrics = metrics;
        this.json = json;
        JsonFactory factory = json.getFactory().copy();
        factory.setStreamReadConstraints(factory.streamReadConstraints().rebuild()
                .maxTokenCount(MAX_REQUEST_TOKENS).maxNestingDepth(16).build());
        this.requests = new ObjectMapper(factory);
        this.readiness = readiness;
        this.liveness = liveness;
        this.maxBodyBytes = bodyLimit.bytes();
        // Bounded: past 64 threads a request runs its own further pictures (one after another, still correct).
        this.entries = new ThreadPoolExecutor(0, 64, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                DaemonThreads.numbered("sapiens-oip"), (task, pool) -> task.run()); // always runs: CallerRunsPolicy would drop it once the pool is shut down
    }

    /** The OpenAPI paths of a model route, without and with a version, joined with {@code |}. */
    private static String paths(String suffix) {
        return PREFIX + "/models/{model}" + suffix + "|" + PREFIX + "/models/{model}/versions/{version}" + suffix;
    }

    void install(@Observes Router router) {
        router.get(PREFIX).handler(this::server);
        router.get(PREFIX + "/health/live").handler(ctx -> health(ctx, "live", liveness.call()));
        router.get(PREFIX + "/health/ready").handler(ctx -> health(ctx, "ready", readiness.call()));
        // Named by the OpenAPI paths each regex serves (META-INF/openapi.yaml; OpenApiTest holds the two together).
        router.getWithRegex(MODEL).setName(paths("")).handler(this::metadata);
        router.getWithRegex(MODEL + "/ready").setName(paths("/ready")).handler(this::modelReady);
        router.postWithRegex(MODEL + "/infer").setName(paths("/infer"))
                .handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes)).blockingHandler(this::infer, false);
        // Anything else under /v2 (Triton's model configuration and repository extensions, a wrong method) is the
        // protocol's 404 in its error shape, not the framework's HTML page.
        router.routeWithRegex(PREFIX + "(/.*)?").setName(PREFIX + "/*").order(Integer.MAX_VALUE)
                .handler(ctx -> ctx.fail(
                new SegmentationException(FailureReason.UNKNOWN_MODEL, "no such Open Inference Protocol endpoint: "
                        + ctx.request().method() + " " + LogSafe.of(ctx.request().path(), 200) + " (served: GET /v2,"
                        + " /v2/health/{live,ready}, /v2/models/{name}[/versions/1][/ready]; POST …/infer)")));
    }

    @PreDestroy
    void stop() {
        entries.shutdownNow();
    }

    private void server(RoutingContext ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", "sapiens-seg-function");
        body.put("version", ConfigProvider.getConfig().getOptionalValue("quarkus.application.version", String.class)
                .orElse("unknown"));
        body.put("extensions", List.of("binary_tensor_data"));
        send(ctx, 200, body);
    }

    /** The protocol's health: 200 for true, a 4xx for false; the body says which. */
    private void health(RoutingContext ctx, String what, HealthCheckResponse check) {
        boolean up = check.getStatus() == HealthCheckResponse.Status.UP;
        send(ctx, up ? 200 : 400, Map.of(what, up));
    }

    private void modelReady(RoutingContext ctx) {
        SegmentationPipeline ready = service.readyPipeline();
        if (ready == null || readiness.call().getStatus() != HealthCheckResponse.Status.UP) {
            send(ctx, 400, Map.of("name", ctx.pathParam("param0"), "ready", false));
            return;
        }
        String name = served(ctx);
        send(ctx, 200, Map.of("name", name, "ready", true));
    }

    private void metadata(RoutingContext ctx) {
        SegmentationPipeline pipeline = service.pipeline();
        String name = served(ctx);
        SegmentationModel model = pipeline.model();
        ModelContract contract = model.contract();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", name);
        body.put("versions", List.of(VERSION));
        body.put("platform", "onnxruntime_onnx");
        body.put("inputs", List.of(tensor(InferenceRequest.INPUT, "BYTES", -1)));
        List<Map<String, Object>> outputs = new ArrayList<>();
        for (Output output : Output.values()) {
            outputs.add(output.kind() == null ? tensor(output.tensorName(), output.datatype(), -1, -1, -1)
                    : tensor(output.tensorName(), output.datatype(), -1));
        }
        body.put("outputs", outputs);
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("model_file", model.name());
        parameters.put("classes", contract.classes());
        parameters.put("class_names", String.join(",", pipeline.planner().vocabulary().names()));
        String batch = contract.fixedBatch() > 0 ? String.valueOf(contract.fixedBatch()) : "B";
        parameters.put("model_input", contract.inputName() + " [" + batch + ", 3, " + contract.inputHeight() + ", "
                + contract.inputWidth() + "]");
        parameters.put("model_output", contract.outputName() + " [" + batch + ", " + contract.classes() + ", "
                + contract.outputHeight() + ", " + contract.outputWidth() + "]");
        parameters.put("execution_provider", model.provider().label());
        parameters.put("normalization", pipeline.normalization().name().toLowerCase(java.util.Locale.ROOT));
        parameters.put("max_batch_entries", pipeline.maxInFlight());
        body.put("parameters", parameters);
        send(ctx, 200, body);
    }

    private static Map<String, Object> tensor(String name, String datatype, long... shape) {
        Map<String, Object> tensor = new LinkedHashMap<>();
        tensor.put("name", name);
        tensor.put("datatype", datatype);
        tensor.put("shape", shape);
        return tensor;
    }

    void infer(RoutingContext ctx) {
        long start = System.nanoTime();
        SegmentationPipeline pipeline = service.pipeline();
        String name = served(ctx);
        String encoding = ctx.request().getHeader("Content-Encoding");
        if (encoding != null && !encoding.isBlank() && !encoding.equalsIgnoreCase("identity")) {
            throw InferenceRequest.bad("Content-Encoding " + LogSafe.of(encoding, 40) + " is not accepted; send the"
                    + " request uncompressed (pictures are compressed already)");
        }
        byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        InferenceRequest parsed = InferenceRequest.parse(body, ctx.request().getHeader(InferenceRequest.HEADER_LENGTH),
                requests, pipeline.maxInFlight());
        OutputPlan plan = parsed.plan(pipeline.planner());
        InferenceRequest request = parsed.covering(plan);
        List<Segmentation> results = segmentAll(pipeline, request.pictures(), plan, request.replyBytesPerPixel());
        List<SegmentationReport> reports = new ArrayList<>();
        for (Segmentation s : results) {
            metrics.segmented(s, RequestPath.INFERENCE);
            reports.add(SegmentationReport.summary(request.id(), s, pipeline.model(), pipeline.normalization()));
        }
        InferenceResponse response = InferenceResponse.write(json, name, VERSION, request, results, reports);
        long length = response.header().length;
        for (byte[] part : response.binary()) {
            length += part.length;
        }
        HttpServerResponse out = ctx.response().setStatusCode(200).putHeader("Content-Length", String.valueOf(length));
        if (response.hasBinary()) {
            out.putHeader(InferenceRequest.HEADER_LENGTH, String.valueOf(response.header().length))
                    .putHeader("Content-Type", "application/octet-stream");
        } else {
            out.putHeader("Content-Type", "application/json");
        }
        // Part by part: no copy of the whole response into one buffer.
        out.write(Buffer.buffer(response.header()));
        response.binary().forEach(part -> out.write(Buffer.buffer(part)));
        out.end();
        LOG.infof("inference %s model=%s ok in %.1f ms: %d picture(s), outputs %s", LogSafe.of(request.id()),
                LogSafe.of(name), (System.nanoTime() - start) / 1e6, results.size(), request.outputs().keySet());
    }

    /**
     * Each picture through the pipeline as its own request (admission, memory, deadline), all at once so that they
     * can share model runs; every picture ends before the answer, and the first failure (in entry order) is the
     * request's.
     */
    private List<Segmentation> segmentAll(SegmentationPipeline pipeline, List<byte[]> pictures, OutputPlan plan,
            long replyBytesPerPixel) {
        List<CompletableFuture<Segmentation>> rest = new ArrayList<>();
        for (byte[] picture : pictures.subList(1, pictures.size())) {
            rest.add(CompletableFuture.supplyAsync(() -> pipeline.segment(new SegmentationRequest(picture, plan,
                    replyBytesPerPixel, null)), entries));
        }
        List<Segmentation> results = new ArrayList<>();
        RuntimeException failure = null;
        try {
            results.add(pipeline.segment(new SegmentationRequest(pictures.get(0), plan, replyBytesPerPixel, null)));
        } catch (RuntimeException e) {
            failure = e;
        }
        for (CompletableFuture<Segmentation> entry : rest) {
            try {
                results.add(entry.join());
            } catch (CompletionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        return results;
    }

    /** The model named in the path, if it is the one served (and the version, if given, is ours); else 404. */
    private String served(RoutingContext ctx) {
        String name = service.servedName();
        String asked = ctx.pathParam("param0");
        String version = ctx.pathParam("param1");
        if (name == null || !name.equals(asked)) {
            throw new SegmentationException(FailureReason.UNKNOWN_MODEL, "no model '" + LogSafe.of(asked, 100)
                    + "' here; this pod serves '" + name + "' (GET " + PREFIX + "/models/" + name + ")");
        }
        if (version != null && !VERSION.equals(version)) {
            throw new SegmentationException(FailureReason.UNKNOWN_MODEL, "model '" + name + "' has no version '"
                    + LogSafe.of(version, 40) + "'; it has version " + VERSION);
        }
        return name;
    }

    private void send(RoutingContext ctx, int status, Object body) {
        try {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                    .end(json.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            ctx.fail(e);
        }
    }
}

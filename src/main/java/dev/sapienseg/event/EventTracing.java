package dev.sapienseg.event;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;

import org.jboss.logging.Logger;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.quarkus.funqy.knative.events.CloudEvent;
import io.vertx.core.http.HttpServerRequest;

/**
 * One span per event, continuing the event's trace: the CloudEvents distributed-tracing extension
 * ({@code ce-traceparent} in binary mode, the {@code traceparent} attribute in structured mode) when present, else the
 * HTTP request's W3C {@code traceparent}. The span's traceparent goes on the reply event, so the next function
 * continues the same trace.
 *
 * <p>Spans are exported with the OpenTelemetry SDK when {@code OTEL_EXPORTER_OTLP_ENDPOINT} is set (configured by the
 * standard {@code OTEL_*} variables); otherwise the trace is still propagated, without spans of our own.
 */
@ApplicationScoped
public class EventTracing {

    private static final Logger LOG = Logger.getLogger(EventTracing.class);

    /** The W3C trace context: a CloudEvents extension (distributed tracing) and an HTTP header of the same name. */
    static final String TRACEPARENT = "traceparent";

    private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final OpenTelemetry openTelemetry;
    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;

    public EventTracing(Instance<SpanExporter> exporters) {
        ContextPropagators w3c = ContextPropagators.create(W3CTraceContextPropagator.getInstance());
        Resource service = Resource.getDefault().merge(Resource.create(Attributes.of(
                io.opentelemetry.api.common.AttributeKey.stringKey("service.name"), "sapiens-seg")));
        if (exporters.isResolvable()) { // an exporter bean (tests, or an embedding application)
            sdk = OpenTelemetrySdk.builder().setPropagators(w3c).setTracerProvider(SdkTracerProvider.builder()
                    .setResource(service).addSpanProcessor(SimpleSpanProcessor.create(exporters.get())).build()).build();
            openTelemetry = sdk;
        } else if (System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != null || System.getProperty("otel.exporter.otlp.endpoint") != null) {
            sdk = AutoConfiguredOpenTelemetrySdk.builder()
                    .addPropertiesSupplier(() -> Map.of("otel.service.name", "sapiens-seg", "otel.metrics.exporter", "none",
                            "otel.logs.exporter", "none"))
                    .build().getOpenTelemetrySdk();
            openTelemetry = sdk;
            LOG.info("tracing: exporting spans with OTLP");
        } else {
            sdk = null;
            openTelemetry = OpenTelemetry.propagating(w3c);
        }
        tracer = openTelemetry.getTracer("dev.sapienseg");
    }

    /**
     * Runs {@code work} in the event's span; {@code work} receives the traceparent to put on the reply (null if the
     * event carried no trace and spans are not recorded).
     */
    public <T> T inSpan(CloudEvent<?> event, HttpServerRequest request, Function<String, T> work) {
        Map<String, String> carrier = new HashMap<>();
        String traceparent = event.extensions().get(TRACEPARENT);
        if (traceparent != null) {
            carrier.put(TRACEPARENT, traceparent);
            putIfPresent(carrier, "tracestate", event.extensions().get("tracestate"));
        } else if (request != null && request.getHeader(TRACEPARENT) != null) {
            carrier.put(TRACEPARENT, request.getHeader(TRACEPARENT));
            putIfPresent(carrier, "tracestate", request.getHeader("tracestate"));
        }
        Context parent = openTelemetry.getPropagators().getTextMapPropagator().extract(Context.root(), carrier, GETTER);
        Span span = tracer.spanBuilder("sapiens.segment " + event.type()).setParent(parent)
                .setSpanKind(SpanKind.CONSUMER)
                .setAttribute("cloudevents.event_id", String.valueOf(event.id()))
                .setAttribute("cloudevents.event_type", String.valueOf(event.type()))
                .setAttribute("cloudevents.event_source", String.valueOf(event.source()))
                .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return work.apply(traceparentOf(span.getSpanContext(), parent));
        } catch (RuntimeException e) {
            span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
            throw e;
        } finally {
            span.end();
        }
    }

    private static void putIfPresent(Map<String, String> carrier, String key, String value) {
        if (value != null) {
            carrier.put(key, value);
        }
    }

    /** The W3C traceparent of our span, or of the incoming one when spans are not recorded. */
    private static String traceparentOf(SpanContext span, Context parent) {
        SpanContext context = span.isValid() ? span : Span.fromContext(parent).getSpanContext();
        if (!context.isValid()) {
            return null;
        }
        return "00-" + context.getTraceId() + "-" + context.getSpanId() + "-" + context.getTraceFlags().asHex();
    }

    @PreDestroy
    void close() {
        if (sdk != null) {
            sdk.close();
        }
    }
}

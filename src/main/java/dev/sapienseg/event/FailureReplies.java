package dev.sapienseg.event;

import dev.sapienseg.logging.LogSafe;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.storage.EventIgnoredException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Answers every failed request to the function with a precise status and a failure CloudEvent
 * ({@code sapiens.segment.failed}) in the request's own mode (binary or structured). Funqy turns a thrown
 * exception into a plain 500, which Knative would redeliver forever; here permanent problems become 400/413/415/422
 * (never retried) and transient ones 429/503 with Retry-After (retried with backoff).
 */
@ApplicationScoped
public class FailureReplies {

    private static final Logger LOG = Logger.getLogger(FailureReplies.class);

    /** Header carrying the failure's id, which finds the full story (cause, stack) in the log. */
    public static final String ERROR_ID_HEADER = "Sapiens-Error-Id";

    private final SapiensConfig config;
    private final ObjectMapper mapper;
    private final SegmentationMetrics metrics;
    private final RequestSizeGuard sizes;
    /** The other surfaces' error shapes; a path none of them owns is answered as a CloudEvent. */
    private final List<FailureShape> shapes;

    public FailureReplies(SapiensConfig config, ObjectMapper mapper, SegmentationMetrics metrics, RequestSizeGuard sizes,
            @Any Instance<FailureShape> shapes) {
        this.config = config;
        this.mapper = mapper;
        this.metrics = metrics;
        this.sizes = sizes;
        this.shapes = shapes.stream().toList();
    }

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).failureHandler(this::handle);
    }

    void handle(RoutingContext ctx) {
        HttpServerResponse response = ctx.response();
        if (ctx.request().path().startsWith("/q/") || response.ended() || response.headWritten()) {
            ctx.next();
            return;
        }
        EventAttributes event = EventAttributes.of(ctx);
        for (Throwable t = ctx.failure(); t != null; t = t.getCause()) {
            if (t instanceof EventIgnoredException ignored) {
                // Nothing to do and nothing to reply: 204 (a 2xx without an event, so no reply goes to the broker).
                LOG.infof("event %s ignored: %s", LogSafe.of(event != null ? event.id() : null),
                        LogSafe.of(ignored.getMessage()));
                metrics.ignored();
                response.setStatusCode(204).putHeader("Sapiens-Ignored", LogSafe.of(ignored.getMessage(), 200).replaceAll("[^\\x20-\\x7E]", "?")).end();
                return;
            }
        }
        Failure failure = classify(ctx.failure(), ctx.statusCode(), event != null);
        if (ctx.failure() == null && ctx.statusCode() == 413) { // Quarkus' body handler: a chunked body past the limit
            failure = new Failure(FailureReason.IMAGE_TOO_LARGE, sizes.tooLarge(-1));
        }
        String path = ctx.request().path();
        FailureShape shape = shapes.stream().filter(s -> s.owns(path)).findFirst().orElse(null);
        String errorId = UUID.randomUUID().toString();
        Long start = ctx.get(RequestSizeGuard.START_KEY);
        String request = event != null ? String.format("event %s type=%s source=%s subject=%s", LogSafe.of(event.id()),
                LogSafe.of(event.type()), LogSafe.of(event.source()), LogSafe.of(event.subject()))
                : shape != null ? shape.describe(path) : "event -";
        log(failure, request, start == null ? -1 : (System.nanoTime() - start) / 1e6, errorId, ctx.failure());
        metrics.failed(failure.reason);

        int status = failure.reason.httpStatus();

        // A refused caller (no webhook secret) is not an event's outcome to publish: it keeps its 401.
        if (shape == null && !failure.reason.retryable() && failure.reason != FailureReason.UNAUTHORIZED
                && config.events().failureReply() == SapiensConfig.FailureReply.EVENT) {
            status = 200;
        }
        response.setStatusCode(status);
        response.putHeader(ERROR_ID_HEADER, errorId);
        if (failure.reason.retryable() && failure.reason != FailureReason.INTERNAL_ERROR) {
            // The pipeline says how long the model takes to free a slot; otherwise (loading, storage) the configured value.
            response.putHeader("Retry-After", String.valueOf(failure.retryAfterSeconds() > 0
                    ? Math.max(failure.retryAfterSeconds(), config.limits().retryAfterSeconds())
                    : config.limits().retryAfterSeconds()));
        }
        if (shape != null) {
            shape.write(response, failure.reason, failure.message);
            return;
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("error", failure.reason.code());
        data.put("message", failure.message);
        data.put("status", failure.reason.httpStatus());
        data.put("retryable", failure.reason.retryable());
        data.put("errorId", errorId);
        if (event != null) {
            data.put("requestId", event.id());
            data.put("requestSource", event.source());
            data.put("requestType", event.type());
        }
        try {
            write(ctx.request(), response, data, event);
        } catch (JsonProcessingException e) {
            response.setStatusCode(500).end();
        }
    }

    private void write(HttpServerRequest request, HttpServerResponse response, Map<String, Object> data,
            EventAttributes event) throws JsonProcessingException {
        SapiensConfig.Events events = config.events();
        String id = UUID.randomUUID().toString();
        String subject = event != null ? event.subject() : null;
        String contentType = request.getHeader("Content-Type");
        if (contentType != null && contentType.startsWith("application/cloudevents+json")) {
            Map<String, Object> structured = new LinkedHashMap<>();
            structured.put("specversion", "1.0");
            structured.put("id", id);
            structured.put("source", events.source());
            structured.put("type", events.failureType());
            if (subject != null) {
                structured.put("subject", subject);
            }
            structured.put("datacontenttype", "application/json");
            structured.put("data", data);
            response.putHeader("Content-Type", "application/cloudevents+json");
            response.end(mapper.writeValueAsString(structured));
            return;
        }
        if (request.getHeader("ce-id") != null) {
            response.putHeader("ce-specversion", "1.0");
            response.putHeader("ce-id", id);
            response.putHeader("ce-source", events.source());
            response.putHeader("ce-type", events.failureType());
            if (subject != null) {
                response.putHeader("ce-subject", subject);
            }
        }
        response.putHeader("Content-Type", "application/json");
        response.end(mapper.writeValueAsString(data));
    }

    private record Failure(FailureReason reason, String message, int retryAfterSeconds) {
        Failure(FailureReason reason, String message) {
            this(reason, message, 0);
        }
    }

    static Failure classify(Throwable failure, int status, boolean reachedFunction) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SegmentationException e) {
                return new Failure(e.reason(), e.getMessage(), e.retryAfterSeconds());
            }
        }
        if (failure == null) {
            return switch (status) {
                case 413 -> new Failure(FailureReason.IMAGE_TOO_LARGE, "request body exceeds quarkus.http.limits.max-body-size");
                case 406, 400, 415 -> new Failure(FailureReason.MALFORMED_EVENT, "not a CloudEvent: send a binary-mode event"
                        + " (ce-specversion, ce-id, ce-source, ce-type headers; the image as body) or a structured one"
                        + " (Content-Type: application/cloudevents+json with data_base64)");
                case 404, 405 -> new Failure(FailureReason.MALFORMED_EVENT, "POST CloudEvents to /");
                default -> new Failure(FailureReason.INTERNAL_ERROR, "request failed with status " + status);
            };
        }
        if (!reachedFunction) {
            // Funqy failed before calling the function: it could not parse the event.
            if (failure instanceof NullPointerException) {
                return new Failure(FailureReason.MALFORMED_EVENT,
                        "malformed CloudEvent: a required attribute (specversion, id, source, type) is missing");
            }
            return new Failure(FailureReason.MALFORMED_EVENT, "malformed CloudEvent: " + LogSafe.of(rootMessage(failure), 200));
        }
        // Internal details (exception texts, paths, endpoints) stay in the log, found by the error id.
        return new Failure(FailureReason.INTERNAL_ERROR, "internal error; the pod's log has the details under this errorId");
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        if (message == null) {
            return root.getClass().getSimpleName();
        }
        int newline = message.indexOf('\n');
        return newline > 0 ? message.substring(0, newline) : message;
    }

    /** @param request how the log names the request: its event's attributes, or its surface and path */
    private static void log(Failure failure, String request, double millis, String errorId, Throwable cause) {
        String line = String.format("%s failed in %.1f ms: %d %s: %s [error %s]", request, millis,
                failure.reason.httpStatus(), failure.reason.code(), LogSafe.of(failure.message, 1024), errorId);
        Throwable detail = cause;
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SegmentationException se) {
                detail = se.getCause();
                break;
            }
        }
        if (detail != null && failure.reason != FailureReason.INTERNAL_ERROR) {
            // What the caller is not told (endpoints, library messages) is logged, under the same error id.
            line += " cause: " + LogSafe.of(rootMessage(detail), 1024);
        }
        if (failure.reason == FailureReason.INTERNAL_ERROR) {
            LOG.error(line, cause);
        } else if (failure.reason == FailureReason.OVERLOADED || failure.reason == FailureReason.QUEUE_TIMEOUT) {
            // Under overload these come by the thousand per second; sapiens_requests_total counts them.
            LOG.debug(line);
        } else {
            LOG.info(line);
        }
    }
}

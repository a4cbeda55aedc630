package dev.sapienseg.event;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Bounds request bodies before they are read. Funqy reads the raw body itself, which bypasses
 * {@code quarkus.http.limits.max-body-size}, so the limit is enforced here from the declared Content-Length:
 * larger bodies get 413 and bodies of undeclared length (chunked uploads) get 411, both without reading a byte.
 * Knative's brokers, channels and the CloudEvents SDKs always declare the length.
 */
@ApplicationScoped
public class RequestSizeGuard {

    private final long maxBodyBytes;

    public RequestSizeGuard(@ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBodySize) {
        this.maxBodyBytes = maxBodySize.asLongValue();
    }

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE + 1).handler(this::check);
    }

    /** Routing-context key: when the request arrived (for the per-event log line's duration). */
    static final String START_KEY = "sapiens.start";

    void check(RoutingContext ctx) {
        ctx.put(START_KEY, System.nanoTime());
        if (ctx.request().method() != HttpMethod.POST || ctx.request().path().startsWith("/q/")) {
            ctx.next();
            return;
        }
        String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length == null) {
            ctx.response().setStatusCode(411).putHeader(HttpHeaders.CONNECTION, "close")
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain")
                    .end("Content-Length required: bodies of undeclared length are refused\n");
            return;
        }
        long declared;
        try {
            declared = Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            ctx.response().setStatusCode(400).end();
            return;
        }
        if (declared > maxBodyBytes) {
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
            ctx.fail(new SegmentationException(FailureReason.IMAGE_TOO_LARGE, "request body of " + declared
                    + " bytes exceeds the limit of " + maxBodyBytes + " bytes (quarkus.http.limits.max-body-size)"));
            return;
        }
        ctx.next();
    }
}

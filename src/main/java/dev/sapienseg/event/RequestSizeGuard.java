package dev.sapienseg.event;

import dev.sapienseg.storage.StorageWebhook;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Bounds request bodies before they are read. A declared Content-Length over the limit of its route is answered 413
 * without reading a byte: {@code quarkus.http.limits.max-body-size} for events, {@link #MAX_NOTIFICATION_BYTES} for the
 * storage webhook (Quarkus' own body handler runs on every route before a route's own, so the webhook's limit has to
 * be checked here). Bodies of undeclared length (chunked: any hop that streams) are accepted; Quarkus' body handler
 * counts them as they arrive and answers 413 at the body limit, and the webhook re-checks its smaller limit once read.
 *
 * <p>Structured events carry the picture as base64 (4/3 of its size): the body limit must leave room for
 * {@code sapiens.limits.max-image-bytes} that way, which is checked at start-up and named in the 413 message.
 */
@ApplicationScoped
public class RequestSizeGuard {

    private static final Logger LOG = Logger.getLogger(RequestSizeGuard.class);

    /** Storage notifications are small JSON documents; a megabyte holds about a thousand records. */
    public static final long MAX_NOTIFICATION_BYTES = 1024 * 1024;

    /** Room for the JSON envelope of a structured event around its base64 data. */
    static final long STRUCTURED_ENVELOPE_BYTES = 64 * 1024;

    /** Routing-context key: when the request arrived (for the per-event log line's duration). */
    static final String START_KEY = "sapiens.start";

    private final long maxBodyBytes;
    private final long structuredImageBytes;

    public RequestSizeGuard(BodyLimit bodyLimit, SapiensConfig config) {
        this.maxBodyBytes = bodyLimit.bytes();
        this.structuredImageBytes = structuredImageLimit(maxBodyBytes, config.limits().maxImageBytes().asLongValue());
        long imageBytes = config.limits().maxImageBytes().asLongValue();
        if (structuredImageBytes < imageBytes) {
            LOG.warnf("quarkus.http.limits.max-body-size (%d bytes) is below what a structured event needs for a picture"
                    + " of sapiens.limits.max-image-bytes (%d bytes as base64 = %d bytes + envelope): structured events"
                    + " carry pictures up to %d bytes; set the body limit to at least %d", maxBodyBytes, imageBytes,
                    base64Length(imageBytes), structuredImageBytes, base64Length(imageBytes) + STRUCTURED_ENVELOPE_BYTES);
        }
    }

    /** The largest picture a structured event can carry within the body limit (base64 plus the envelope). */
    static long structuredImageLimit(long maxBodyBytes, long maxImageBytes) {
        long room = Math.max(0, maxBodyBytes - STRUCTURED_ENVELOPE_BYTES);
        return Math.min(maxImageBytes, room / 4 * 3);
    }

    static long base64Length(long bytes) {
        return (bytes + 2) / 3 * 4;
    }

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE + 1).handler(this::check);
    }

    void check(RoutingContext ctx) {
        ctx.put(START_KEY, System.nanoTime());
        if (ctx.request().method() != HttpMethod.POST || ctx.request().path().startsWith("/q/")) {
            ctx.next();
            return;
        }
        String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length == null) {
            ctx.next(); // chunked: bounded while it is read (see the class comment)
            return;
        }
        long declared;
        try {
            declared = Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            ctx.response().setStatusCode(400).putHeader(HttpHeaders.CONNECTION, "close").end();
            return;
        }
        boolean webhook = ctx.request().path().startsWith(StorageWebhook.PATH);
        long limit = webhook ? MAX_NOTIFICATION_BYTES : maxBodyBytes;
        if (declared > limit) {
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
            ctx.fail(new SegmentationException(FailureReason.IMAGE_TOO_LARGE, webhook
                    ? "notification body of " + declared + " bytes exceeds the webhook's limit of " + limit + " bytes"
                    : tooLarge(declared)));
            return;
        }
        ctx.next();
    }

    /** The 413 message for an event body, naming both the body limit and what it means for structured events. */
    String tooLarge(long bytes) {
        return "request body of " + (bytes < 0 ? "more than " + maxBodyBytes : String.valueOf(bytes))
                + " bytes exceeds the limit of " + maxBodyBytes + " bytes (quarkus.http.limits.max-body-size; a"
                + " structured event's base64 data fits pictures up to " + structuredImageBytes + " bytes)";
    }
}

package dev.sapienseg.storage;

import java.security.MessageDigest;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.util.Digests;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * {@code POST /storage/notifications}: plain-JSON storage webhooks (a MinIO bucket notification target pointed straight
 * at the function; a Knative Broker only takes CloudEvents). Same notifications and same processing as the
 * CloudEvent path; the answer is plain JSON, failures as for events. With {@code sapiens.storage.webhook-secret} set,
 * a call must carry {@code Authorization: Bearer <secret>} (MinIO's {@code auth_token}), compared in constant time;
 * otherwise it is answered 401 before anything is read from storage.
 */
@ApplicationScoped
public class StorageWebhook {

    private static final Logger LOG = Logger.getLogger(StorageWebhook.class);

    public static final String PATH = "/storage/notifications";
    private static final long MAX_NOTIFICATION_BYTES = 1024 * 1024;

    private final StorageSegmenter storage;
    private final ObjectMapper mapper;
    /** SHA-256 of the secret, or null when the webhook is open. */
    private final byte[] secretDigest;

    public StorageWebhook(StorageSegmenter storage, ObjectMapper mapper, SapiensConfig config) {
        this.storage = storage;
        this.mapper = mapper;
        Optional<String> secret = config.storage().webhookSecret();
        this.secretDigest = secret.map(Digests::sha256).orElse(null);
    }

    void install(@Observes Router router) {
        if (secretDigest == null) {
            LOG.warn("sapiens.storage.webhook-secret is not set: anyone who can reach " + PATH + " can make the"
                    + " function read allow-listed objects and write results; set SAPIENS_STORAGE_WEBHOOK_SECRET and"
                    + " MinIO's auth_token");
        }
        router.post(PATH).handler(BodyHandler.create().setBodyLimit(MAX_NOTIFICATION_BYTES)).blockingHandler(this::handle, false);
    }

    void handle(RoutingContext ctx) {
        try {
            authorize(ctx.request().getHeader("Authorization"));
        } catch (SegmentationException e) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"sapiens-storage\"");
            throw e;
        }
        byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        StoredResult.Reply reply = storage.handle(StorageNotifications.parse(null, body)
                .orElseThrow(() -> new SegmentationException(FailureReason.MALFORMED_EVENT,
                        "not a storage notification (expected S3/MinIO Records or a GCS object)")));
        try {
            ctx.response().putHeader("Content-Type", "application/json").end(mapper.writeValueAsString(reply));
        } catch (JsonProcessingException e) {
            ctx.fail(e);
        }
    }

    /** Accepts {@code Bearer <secret>} only; compares digests so that neither content nor length leaks by timing. */
    void authorize(String authorization) {
        if (secretDigest == null) {
            return;
        }
        String presented = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).strip() : null;
        if (presented == null || !MessageDigest.isEqual(secretDigest, Digests.sha256(presented))) {
            throw new SegmentationException(FailureReason.UNAUTHORIZED, authorization == null
                    ? "this webhook needs 'Authorization: Bearer <secret>' (sapiens.storage.webhook-secret)"
                    : "wrong webhook credentials");
        }
    }
}

package dev.sapienseg.event;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;
import dev.sapienseg.storage.StorageNotifications;
import dev.sapienseg.storage.StorageSegmenter;
import dev.sapienseg.storage.StoredResult;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * {@code POST /storage/notifications}: plain-JSON storage webhooks (a MinIO bucket notification target pointed straight
 * at the function; a Knative Broker only takes CloudEvents). Same notifications and same processing as the
 * CloudEvent path; the answer is plain JSON, failures as for events.
 */
@ApplicationScoped
public class StorageWebhook {

    public static final String PATH = "/storage/notifications";
    private static final long MAX_NOTIFICATION_BYTES = 1024 * 1024;

    private final StorageSegmenter storage;
    private final ObjectMapper mapper;

    public StorageWebhook(StorageSegmenter storage, ObjectMapper mapper) {
        this.storage = storage;
        this.mapper = mapper;
    }

    void install(@Observes Router router) {
        router.post(PATH).handler(BodyHandler.create().setBodyLimit(MAX_NOTIFICATION_BYTES)).blockingHandler(this::handle, false);
    }

    void handle(RoutingContext ctx) {
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
}

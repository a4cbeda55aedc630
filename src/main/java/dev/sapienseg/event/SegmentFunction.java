package dev.sapienseg.event;

import dev.sapienseg.logging.LogSafe;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Inject;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.metrics.RequestPath;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.SegmentationRequest;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.storage.ObjectEvent;
import dev.sapienseg.storage.StorageNotifications;
import dev.sapienseg.storage.StorageSegmenter;
import dev.sapienseg.storage.StoredResult;
import io.quarkus.funqy.Funq;
import io.quarkus.funqy.knative.events.CloudEvent;
import io.quarkus.funqy.knative.events.CloudEventBuilder;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;

/**
 * The Funqy function: adapts an image CloudEvent (binary mode: the body is the image; structured mode:
 * {@code data_base64}) to the pipeline and the result back to a CloudEvent; storage notifications (S3, MinIO,
 * GCS shapes) go to {@link StorageSegmenter}. Failures are thrown as
 * {@link SegmentationException} and answered by {@link FailureReplies}.
 */
public class SegmentFunction {

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(SegmentFunction.class);

    /**
     * Knative's AWS S3 IntegrationSource: the data is an object's content (labelled application/json whatever it is),
     * with fixed attributes that do not name the object; so it is an image request, answered with a result event.
     */
    public static final String KNATIVE_AWS_S3 = "dev.knative.eventing.aws-s3";

    @Inject
    SegmentationService service;

    @Inject
    SapiensConfig config;

    @Inject
    CurrentVertxRequest currentRequest;

    @Inject
    StorageSegmenter storage;

    @Inject
    SegmentationMetrics metrics;

    @Inject
    EventTracing tracing;

    @Funq("segment")
    public CloudEvent<Object> segment(CloudEvent<byte[]> event) {
        EventAttributes attributes = remember(event);
        return tracing.inSpan(event, currentRequest.getCurrent() != null ? currentRequest.getCurrent().request() : null,
                traceparent -> dispatch(event, attributes, traceparent));
    }

    private CloudEvent<Object> dispatch(CloudEvent<byte[]> event, EventAttributes attributes, String traceparent) {
        SapiensConfig.Events events = config.events();
        if (events.requestType().equals(event.type()) || KNATIVE_AWS_S3.equals(event.type())) {
            return image(event, attributes, traceparent);
        }
        // Storage notifications: by type, or sniffed from the JSON when the type says nothing (a KafkaSource, say).
        Optional<List<ObjectEvent>> objects = StorageNotifications.parse(event.type(), data(event));
        if (objects.isPresent()) {
            StoredResult.Reply reply = storage.handle(objects.get());
            LOG.infof("event %s type=%s source=%s: stored results for %d object(s)", LogSafe.of(event.id()),
                    LogSafe.of(event.type()), LogSafe.of(event.source()), reply.results().size());
            CloudEventBuilder builder = traced(CloudEventBuilder.create().type(events.storedType()).source(events.source()),
                    traceparent);
            String key = reply.results().size() == 1 ? reply.results().get(0).source().key() : null;
            if (key != null && key.length() <= 1024 && key.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
                builder.subject(key); // a header value in binary mode: printable ASCII only (the data names any key)
            }
            return builder.build(reply);
        }
        throw new SegmentationException(FailureReason.UNSUPPORTED_EVENT_TYPE, "event type '" + LogSafe.of(event.type())
                + "' is not handled here; send '" + events.requestType() + "' with an image, or a storage notification");
    }

    /** The reply carries the trace on (CloudEvents distributed-tracing extension). */
    private static CloudEventBuilder traced(CloudEventBuilder builder, String traceparent) {
        return traceparent == null ? builder : builder.extensions(Map.of(EventTracing.TRACEPARENT, traceparent));
    }

    private CloudEvent<Object> image(CloudEvent<byte[]> event, EventAttributes attributes, String traceparent) {
        SapiensConfig.Events events = config.events();
        Set<OutputKind> kinds = EventOptions.kinds(event.extensions(), events.defaultOutputs());
        byte[] image = data(event);
        if (image == null || image.length == 0) {
            throw new SegmentationException(FailureReason.EMPTY_IMAGE,
                    "the event carries no image (binary mode: put the image in the body; structured mode: use data_base64)");
        }
        SegmentationPipeline pipeline = service.pipeline();
        OutputPlan plan = EventOptions.plan(kinds, event.extensions(), pipeline.planner());
        Segmentation segmentation = pipeline.segment(SegmentationRequest.of(image, plan));
        metrics.segmented(segmentation, RequestPath.EVENT);
        LOG.infof("event %s type=%s source=%s subject=%s ok in %.1f ms: segmented %dx%d", LogSafe.of(event.id()),
                LogSafe.of(event.type()), LogSafe.of(event.source()), LogSafe.of(attributes.subject()),
                segmentation.timings().total(), segmentation.width(), segmentation.height());
        SegmentationReport reply = SegmentationReport.of(event.id(), segmentation, pipeline.model(),
                pipeline.normalization());
        CloudEventBuilder builder = traced(CloudEventBuilder.create()
                .type(events.resultType())
                .source(events.source()), traceparent);
        if (attributes.subject() != null) {
            builder.subject(attributes.subject());
        }
        return builder.build(reply);
    }

    private static byte[] data(CloudEvent<byte[]> event) {
        try {
            return event.data();
        } catch (NullPointerException e) { // Funqy's binary-mode event has no buffer when the body is empty
            return null;
        } catch (RuntimeException e) {
            throw new SegmentationException(FailureReason.MALFORMED_EVENT, "could not read the event data: "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
    }

    /** Keeps the request's attributes for the failure reply and marks that the event was well-formed enough to reach us. */
    private EventAttributes remember(CloudEvent<byte[]> event) {
        EventAttributes attributes = EventAttributes.of(event);
        if (currentRequest.getCurrent() != null) {
            attributes.remember(currentRequest.getCurrent());
        }
        if (!attributes.complete()) {
            throw new SegmentationException(FailureReason.MALFORMED_EVENT,
                    "malformed CloudEvent: id, source and type are required");
        }
        return attributes;
    }
}

package dev.sapienseg.storage;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.failure.SegmentationException;

/**
 * What was stored for one source object: the data of a {@code sapiens.segment.stored} reply (inside
 * {@code results}), and the content of the summary object ({@code <name>.json}). In a reply, a record that was not
 * segmented has {@code error} (it failed) or {@code ignored} (nothing to do) instead of objects.
 *
 * @param reused true when the outputs were already complete and current, so nothing was recomputed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StoredResult(SourceObject source, List<StoredObject> objects, SegmentationReport segmentation,
        boolean reused, RecordError error, String ignored) {

    public StoredResult(SourceObject source, List<StoredObject> objects, SegmentationReport segmentation, boolean reused) {
        this(source, objects, segmentation, reused, null, null);
    }

    static StoredResult failed(ObjectEvent object, SegmentationException e) {
        return new StoredResult(new SourceObject(object.bucket(), object.key(), null, null, null), null, null, false,
                RecordError.of(e), null);
    }

    static StoredResult ignored(ObjectEvent object, String why) {
        return new StoredResult(new SourceObject(object.bucket(), object.key(), null, null, null), null, null, false,
                null, why);
    }

    /** The object that was segmented. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SourceObject(String bucket, String key, String eTag, String versionId, Long size) {
    }

    /** An object written, with the ETag the store gave it (a redelivery reuses it only while the ETag is unchanged). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StoredObject(String bucket, String key, String contentType, long size, String eTag) {
    }

    /** Why one record of the notification failed: the same fields as a failure reply. */
    public record RecordError(String code, String message, int status, boolean retryable) {
        static RecordError of(SegmentationException e) {
            return new RecordError(e.reason().code(), e.getMessage(), e.reason().httpStatus(), e.reason().retryable());
        }
    }

    /** The reply data: one result per record of the notification, in order. */
    public record Reply(List<StoredResult> results) {
    }
}

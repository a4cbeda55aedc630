package dev.sapienseg.storage;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.sapienseg.output.SegmentationReport;

/**
 * What was stored for one source object: the data of a {@code sapiens.segment.stored} reply (inside
 * {@code results}), and the content of the summary object ({@code <stem>.json}).
 *
 * @param reused true when the outputs were already complete and current, so nothing was recomputed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StoredResult(SourceObject source, List<StoredObject> objects, SegmentationReport segmentation,
        boolean reused) {

    /** The object that was segmented. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SourceObject(String bucket, String key, String eTag, String versionId, long size) {
    }

    /** An object written. */
    public record StoredObject(String bucket, String key, String contentType, long size) {
    }

    /** The reply data: one result per object of the notification. */
    public record Reply(List<StoredResult> results) {
    }
}

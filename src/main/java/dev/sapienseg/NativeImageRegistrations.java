package dev.sapienseg;

import dev.sapienseg.batch.SegmentCommand;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.storage.StoredResult;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * Classes that a native image must keep open to reflection: the JSON documents Jackson writes and reads (replies,
 * stored summaries, the batch command's summaries) and the picocli command, whose options are annotated fields.
 */
@RegisterForReflection(targets = {
        SegmentationReport.class, SegmentationReport.ModelInfo.class, SegmentationReport.ClassSummary.class,
        SegmentationReport.BoundingBox.class, SegmentationReport.Picture.class, SegmentationReport.SelectionSummary.class,
        StageTimings.class,
        StoredResult.class, StoredResult.SourceObject.class, StoredResult.StoredObject.class, StoredResult.Reply.class,
        StoredResult.RecordError.class,
        SegmentCommand.class })
final class NativeImageRegistrations {

    private NativeImageRegistrations() {
    }
}

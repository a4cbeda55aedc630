package dev.sapienseg.report;

import dev.sapienseg.classes.ClassStatistics;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.StageTimings;

/**
 * A segmentation as JSON: the data of a {@code sapiens.segment.result} event, and the batch command's
 * {@code <stem>.json} (without pictures). Pictures are base64; {@code mask} is an 8-bit palette PNG whose pixel values
 * are the class ids (its colours are the Goliath palette).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SegmentationReport(String requestId, int width, int height, String format, ModelInfo model,
        double foregroundShare, List<ClassSummary> classes, StageTimings timings, int batchSize, Picture mask,
        Picture overlay) {

    /** The model that produced the result, and where it ran. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ModelInfo(String name, boolean demo, String executionProvider, String providerNote, int classes,
            String normalization) {
    }

    /** One class present in the picture; the box is in pixels of the original picture. */
    public record ClassSummary(int id, String name, long pixels, double share, BoundingBox bbox) {
    }

    public record BoundingBox(int x, int y, int width, int height) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Picture(String contentType, String description, byte[] data) {
    }

    public static SegmentationReport of(String requestId, Segmentation s, SegmentationModel model,
            Normalization normalization) {
        ModelInfo modelInfo = new ModelInfo(model.name(), model.isDemo(), model.provider().label(),
                model.providerNote(), model.contract().classes(), normalization.name().toLowerCase(java.util.Locale.ROOT));
        List<ClassSummary> classes = s.statistics().regions().stream()
                .map(SegmentationReport::summary)
                .toList();
        Picture mask = s.maskPng() == null ? null
                : new Picture("image/png", "8-bit palette PNG; pixel value = class id", s.maskPng());
        Picture overlay = s.overlay() == null ? null
                : new Picture(s.overlay().contentType(), "original | overlay, side by side", s.overlay().data());
        return new SegmentationReport(requestId, s.width(), s.height(), s.format().name().toLowerCase(java.util.Locale.ROOT),
                modelInfo, round(s.statistics().foregroundShare()), classes, s.timings(), s.batchSize(), mask, overlay);
    }

    private static ClassSummary summary(ClassStatistics.ClassRegion r) {
        return new ClassSummary(r.id(), r.name(), r.pixels(), round(r.share()),
                new BoundingBox(r.x(), r.y(), r.width(), r.height()));
    }

    private static double round(double share) {
        return Math.round(share * 1e6) / 1e6;
    }
}

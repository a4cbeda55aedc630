package dev.sapienseg.pipeline;

import java.util.Objects;

import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputPlan;

/**
 * One picture to segment, as every adapter hands it to {@link SegmentationPipeline}: the encoded picture, what to make
 * of it (resolved once by {@link dev.sapienseg.output.OutputPlanner}) and what the adapter's own rendering adds.
 *
 * @param picture the encoded picture, as received
 * @param plan the outputs and the selection
 * @param replyBytesPerPixel memory the adapter's own encoding of the result takes per pixel (the Open Inference
 *        Protocol's tensors), reserved with the rest before decoding
 * @param overlayFormat the overlay's format, or null for the picture's own
 *        ({@link ImageFormat#overlayFormat()}; the batch command names it by the input file's extension instead)
 */
public record SegmentationRequest(byte[] picture, OutputPlan plan, long replyBytesPerPixel, ImageFormat overlayFormat) {

    public SegmentationRequest {
        Objects.requireNonNull(picture, "picture");
        Objects.requireNonNull(plan, "plan");
        if (replyBytesPerPixel < 0) {
            throw new IllegalArgumentException("replyBytesPerPixel < 0");
        }
    }

    /** A picture whose result the caller renders from the plan's outputs alone. */
    public static SegmentationRequest of(byte[] picture, OutputPlan plan) {
        return new SegmentationRequest(picture, plan, 0, null);
    }
}

package dev.sapienseg.pipeline;

import java.util.List;

import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.output.EncodedImage;

/**
 * The result for one image at its original (oriented) size.
 *
 * @param classMap one class id per pixel, row-major, {@code width × height}
 * @param maskPng palette PNG of the class map, or null if not requested
 * @param overlay the side-by-side visualisation, or null if not requested
 * @param batchSize pictures that shared the model run
 */
public record Segmentation(int width, int height, ImageFormat format, List<String> classNames, byte[] classMap,
        ClassStatistics statistics, StageTimings timings, byte[] maskPng, EncodedImage overlay, int batchSize) {
}

package dev.sapienseg.image;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.util.regex.Pattern;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * The one image decoder of the project: bounds checks from the headers ({@link ImageHeaderProbe}), then OpenCV's
 * {@code imdecode} with {@code IMREAD_COLOR}, which is what Sapiens' {@code cv2.imread} does (EXIF orientation
 * applied, grey expanded to three channels, alpha dropped, 16-bit scaled to 8-bit).
 *
 * <p>Decoding never exceeds what the probe allowed: the decoded size must be the probed one (or its transpose: OpenCV
 * applies EXIF orientations 5–8 for JPEG, PNG eXIf, WebP EXIF and TIFF Orientation alike, measured), else the
 * picture is refused as corrupt. OpenCV's own refusal of a size above {@code OPENCV_IO_MAX_IMAGE_PIXELS}
 * ({@link OpenCvLimits}) is answered {@code TOO_MANY_PIXELS}; an allocation failure while decoding, and a decode
 * that took longer than {@link ImageLimits#decodeBudget()}, {@code IMAGE_TOO_COMPLEX}: permanent answers, never an
 * {@link Error} escaping as a 500 that Knative would redeliver forever.
 */
public final class ImageDecoder {

    /** OpenCV's message prefix, "OpenCV(4.13.0) /build/path/file.cpp:123: error: ": not for callers' eyes. */
    private static final Pattern OPENCV_LOCATION = Pattern.compile("OpenCV\\([^)]*\\)\\s+\\S+:\\d+:\\s*(error:\\s*)?");

    private final ImageLimits limits;

    public ImageDecoder(ImageLimits limits) {
        this.limits = limits;
    }

    /** Checks size, format, declared pixel count and working memory without decoding. */
    public ImageHeader inspect(byte[] encoded) {
        if (encoded != null && encoded.length > limits.maxBytes()) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_LARGE,
                    "image of " + encoded.length + " bytes exceeds the limit of " + limits.maxBytes() + " bytes");
        }
        ImageHeader header = ImageHeaderProbe.probe(encoded);
        if (header.pixels() > limits.maxPixels()) {
            throw new SegmentationException(FailureReason.TOO_MANY_PIXELS, header.format() + " image of "
                    + header.width() + "x" + header.height() + " = " + header.pixels()
                    + " pixels exceeds the limit of " + limits.maxPixels() + " pixels");
        }
        if (header.workingBytes() > limits.maxWorkingBytes()) {
            throw new SegmentationException(FailureReason.TOO_MANY_PIXELS, header.format() + " image of "
                    + header.width() + "x" + header.height() + " needs " + header.workingBytes()
                    + " bytes of decoder memory at its sample depth, above the bound of " + limits.maxWorkingBytes()
                    + " bytes (" + ImageLimits.WORKING_BYTES_PER_PIXEL + " bytes per pixel of the limit)");
        }
        return header;
    }

    public DecodedImage decode(byte[] encoded) {
        return decode(encoded, inspect(encoded));
    }

    /** Decodes a picture whose header {@link #inspect} has already read and checked (not probed a second time). */
    public DecodedImage decode(byte[] encoded, ImageHeader header) {
        Mat bgr;
        long start = System.nanoTime();
        try (BytePointer bytes = new BytePointer(encoded); Mat buffer = new Mat(1, encoded.length, CV_8UC1, bytes)) {
            bgr = imdecode(buffer, IMREAD_COLOR);
        } catch (OutOfMemoryError e) { // JavaCPP refusing native memory (maxPhysicalBytes) or the heap: permanent
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "decoding the " + header.format()
                    + " image of " + header.width() + "x" + header.height() + " ran out of memory", e);
        } catch (RuntimeException e) { // OpenCV reports codec errors as cv::Exception → RuntimeException
            throw refusal(header, e);
        }
        long elapsed = System.nanoTime() - start;
        if (bgr == null || bgr.empty()) {
            if (bgr != null) {
                bgr.close();
            }
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "could not decode the " + header.format() + " image (corrupt or truncated data)");
        }
        if (elapsed > limits.decodeBudget().toNanos()) {
            bgr.close();
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "decoding the " + header.format()
                    + " image took " + elapsed / 1_000_000 + " ms, beyond the budget of "
                    + limits.decodeBudget().toMillis() + " ms");
        }
        boolean probed = bgr.cols() == header.width() && bgr.rows() == header.height();
        boolean oriented = bgr.cols() == header.height() && bgr.rows() == header.width(); // EXIF 5–8
        if (!probed && !oriented) {
            int cols = bgr.cols();
            int rows = bgr.rows();
            bgr.close();
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE, "the " + header.format()
                    + " image's headers declare " + header.width() + "x" + header.height() + " but its data decodes to "
                    + cols + "x" + rows);
        }
        if (bgr.type() != CV_8UC3 || !bgr.isContinuous()) {
            bgr.close();
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "decoder returned an unexpected pixel layout for the " + header.format() + " image");
        }
        return new DecodedImage(bgr, header.format());
    }

    /** A cv::Exception as an answer: OpenCV's own size cap, an allocation failure, or a corrupt picture. */
    static SegmentationException refusal(ImageHeader header, RuntimeException e) {
        String message = String.valueOf(e.getMessage());
        String what = header.format() + " image of " + header.width() + "x" + header.height();
        if (message.contains("CV_IO_MAX_IMAGE") || message.contains("validateInputImageSize")) {
            return new SegmentationException(FailureReason.TOO_MANY_PIXELS, what
                    + " exceeds the pixel limit OpenCV was started with (OPENCV_IO_MAX_IMAGE_PIXELS)", e);
        }
        if (message.contains("Insufficient memory") || message.contains("Failed to allocate")) {
            return new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX,
                    "decoding the " + what + " could not allocate its memory", e);
        }
        return new SegmentationException(FailureReason.CORRUPT_IMAGE,
                "could not decode the " + header.format() + " image: " + clean(message), e);
    }

    /** OpenCV's message without build paths, on one line. */
    static String clean(String message) {
        String firstLines = OPENCV_LOCATION.matcher(message).replaceAll("").replaceAll("\\s+", " ").trim();
        return firstLines.length() > 300 ? firstLines.substring(0, 300) + "…" : firstLines;
    }
}

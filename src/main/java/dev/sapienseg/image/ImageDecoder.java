package dev.sapienseg.image;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;

/**
 * The one image decoder of the project: bounds checks from the header, then OpenCV's {@code imdecode} with
 * {@code IMREAD_COLOR}, which is what Sapiens' {@code cv2.imread} does (EXIF orientation applied, grey expanded
 * to three channels, alpha dropped, 16-bit scaled to 8-bit).
 */
public final class ImageDecoder {

    private final ImageLimits limits;

    public ImageDecoder(ImageLimits limits) {
        this.limits = limits;
    }

    /** Checks size, format and declared pixel count without decoding. */
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
        return header;
    }

    public DecodedImage decode(byte[] encoded) {
        ImageHeader header = inspect(encoded);
        Mat bgr;
        try (BytePointer bytes = new BytePointer(encoded); Mat buffer = new Mat(1, encoded.length, CV_8UC1, bytes)) {
            bgr = imdecode(buffer, IMREAD_COLOR);
        } catch (RuntimeException e) { // OpenCV reports codec errors as cv::Exception → RuntimeException
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "could not decode the " + header.format() + " image: " + e.getMessage(), e);
        }
        if (bgr == null || bgr.empty()) {
            if (bgr != null) {
                bgr.close();
            }
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "could not decode the " + header.format() + " image (corrupt or truncated data)");
        }
        if (bgr.type() != CV_8UC3 || !bgr.isContinuous()) {
            bgr.close();
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "decoder returned an unexpected pixel layout for the " + header.format() + " image");
        }
        return new DecodedImage(bgr, header.format());
    }
}

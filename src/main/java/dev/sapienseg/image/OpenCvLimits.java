package dev.sapienseg.image;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.jboss.logging.Logger;

/**
 * OpenCV's own size cap, the backstop behind {@link ImageHeaderProbe}: libopencv_imgcodecs reads
 * {@code OPENCV_IO_MAX_IMAGE_PIXELS} (and {@code _WIDTH}/{@code _HEIGHT}) from the process environment once, in a
 * static initialiser, when it loads, and refuses larger pictures in {@code imdecode} (a cv::Exception naming
 * validateInputImageSize, answered TOO_MANY_PIXELS by {@link ImageDecoder}). Its default is 2^30 pixels.
 *
 * <p>Java cannot change its own process environment (no setenv; {@code org.bytedeco:systems}, which would expose
 * it, is not available to this build), so the variable is set by whoever starts the JVM: {@code deploy/run-java.sh}
 * derives it from the configured pixel limit (or the batch command's {@code --max-pixels}). {@link #apply(long)},
 * called before OpenCV loads, checks that the environment agrees with the configured limit: it logs a warning when
 * the backstop is missing or looser than the limit (the probe still enforces the limit), and when it is stricter
 * (OpenCV would refuse pictures the configuration allows). It never refuses to start: a missing variable is the
 * state of every existing deployment, and the probe is the primary bound.
 */
public final class OpenCvLimits {

    public static final String VARIABLE = "OPENCV_IO_MAX_IMAGE_PIXELS";
    /** OpenCV's default when the variable is not set. */
    public static final long OPENCV_DEFAULT = 1L << 30;

    private static final Logger LOG = Logger.getLogger(OpenCvLimits.class);

    /** How the environment's cap relates to the configured limit. */
    public enum State {
        /** The cap equals the configured limit. */
        MATCHING,
        /** Not set (OpenCV's 2^30 applies) or above the limit: the probe alone enforces the limit. */
        LOOSER,
        /** Below the limit: OpenCV refuses some pictures the configuration allows. */
        STRICTER
    }

    private static final AtomicReference<Long> APPLIED = new AtomicReference<>();

    private OpenCvLimits() {
    }

    /** Checks the process environment against {@code maxPixels}; idempotent, logs once per distinct limit. */
    public static State apply(long maxPixels) {
        State state = check(System.getenv(), maxPixels);
        Long previous = APPLIED.getAndSet(maxPixels);
        if (previous == null || previous != maxPixels) {
            String value = System.getenv(VARIABLE);
            switch (state) {
                case MATCHING -> LOG.debugf("OpenCV's pixel cap %s=%s matches the limit", VARIABLE, value);
                case LOOSER -> LOG.warnf("OpenCV's pixel cap %s is %s, looser than the limit of %d pixels: set it to the "
                        + "limit in the environment that starts the JVM (deploy/run-java.sh does)", VARIABLE,
                        value == null ? "not set (OpenCV's default " + OPENCV_DEFAULT + ")" : value, maxPixels);
                case STRICTER -> LOG.warnf("OpenCV's pixel cap %s=%s is below the limit of %d pixels: OpenCV will refuse "
                        + "pictures the limit allows", VARIABLE, value, maxPixels);
            }
        }
        return state;
    }

    /** The cap OpenCV takes from this environment: the variable if it is a number, else its default. */
    public static long effectiveCap(Map<String, String> environment) {
        String value = environment.get(VARIABLE);
        if (value == null || value.isBlank()) {
            return OPENCV_DEFAULT;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return OPENCV_DEFAULT; // OpenCV would fail to parse it too; treat it as unset
        }
    }

    static State check(Map<String, String> environment, long maxPixels) {
        long cap = effectiveCap(environment);
        return cap == maxPixels ? State.MATCHING : cap > maxPixels ? State.LOOSER : State.STRICTER;
    }
}

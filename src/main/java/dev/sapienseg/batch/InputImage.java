package dev.sapienseg.batch;

import java.nio.file.Path;

/**
 * One picture to segment and where its results go: {@code relativeDir} mirrors its folder under the input root,
 * {@code stem} names its outputs ({@code <stem>.npy}, {@code <stem>_seg.npy}, …) and {@code extension} is the
 * input's own (case kept) for the visualisation, as Sapiens names it.
 */
public record InputImage(Path source, Path relativeDir, String stem, String extension) {

    /** How the image is named in logs and summaries. */
    public String label() {
        return relativeDir.resolve(stem + extension).toString();
    }
}

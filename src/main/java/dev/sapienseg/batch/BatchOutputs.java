package dev.sapienseg.batch;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Locale;

import org.bytedeco.opencv.opencv_core.Mat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.classes.GoliathClasses;
import dev.sapienseg.output.NpyWriter;
import dev.sapienseg.output.OverlayRenderer;
import dev.sapienseg.output.PalettePngEncoder;
import dev.sapienseg.report.SegmentationReport;

/**
 * The files written per picture, in its mirrored output folder: what Sapiens writes ({@code <stem>.npy} bool
 * foreground mask, {@code <stem>_seg.npy} int64 class map, the side-by-side visualisation named like the input) and
 * ours ({@code <stem>_seg.png} palette PNG of class ids, {@code <stem>.json} summary). Each file is written to a
 * temporary name and renamed, the summary last: a picture whose summary exists, newer than the picture, is complete.
 */
public final class BatchOutputs {

    private final Path root;
    private final ObjectWriter json = new ObjectMapper().writerWithDefaultPrettyPrinter();

    public BatchOutputs(Path root) {
        this.root = root;
    }

    public Path dir(InputImage image) {
        return root.resolve(image.relativeDir());
    }

    /**
     * The one naming function of the batch outputs: foreground mask, class map, class PNG, visualisation, summary.
     * {@link BatchInputs} picks stems whose names are free across the run.
     */
    public static List<String> fileNames(String stem, String extension) {
        return List.of(stem + ".npy", stem + "_seg.npy", stem + "_seg.png", stem + extension, stem + ".json");
    }

    private Path file(InputImage image, int which) {
        return dir(image).resolve(fileNames(image.stem(), image.extension()).get(which));
    }

    public Path foregroundNpy(InputImage image) {
        return file(image, 0);
    }

    public Path classNpy(InputImage image) {
        return file(image, 1);
    }

    public Path classPng(InputImage image) {
        return file(image, 2);
    }

    public Path visualisation(InputImage image) {
        return file(image, 3);
    }

    public Path summary(InputImage image) {
        return file(image, 4);
    }

    public List<Path> files(InputImage image) {
        return List.of(foregroundNpy(image), classNpy(image), classPng(image), visualisation(image), summary(image));
    }

    /** All outputs exist and the summary (written last) is not older than the picture. */
    public boolean complete(InputImage image) {
        try {
            for (Path file : files(image)) {
                if (!Files.isRegularFile(file)) {
                    return false;
                }
            }
            FileTime source = Files.getLastModifiedTime(image.source());
            return Files.getLastModifiedTime(summary(image)).compareTo(source) >= 0;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Writes every output; {@code report} gets the milliseconds spent encoding and writing the other files, since
     * the summary is written last.
     */
    public void write(InputImage image, DecodedImage decoded, byte[] classMap,
            java.util.function.DoubleFunction<SegmentationReport> report) throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(dir(image));
        int w = decoded.width();
        int h = decoded.height();
        atomically(foregroundNpy(image), out -> NpyWriter.writeForegroundMask(out, classMap, w, h));
        atomically(classNpy(image), out -> NpyWriter.writeClassMap(out, classMap, w, h));
        atomically(classPng(image), out -> out.write(PalettePngEncoder.encode(classMap, w, h, GoliathClasses.paletteRgbBytes())));
        try (Mat overlay = OverlayRenderer.render(decoded, classMap)) {
            byte[] encoded = OverlayRenderer.encode(overlay, formatOf(image.extension()));
            atomically(visualisation(image), out -> out.write(encoded));
        }
        double encodeMillis = Math.round((System.nanoTime() - start) / 10_000.0) / 100.0;
        atomically(summary(image), out -> json.writeValue(out, report.apply(encodeMillis)));
    }

    /** The visualisation keeps the input's format, as Sapiens writes it. */
    static ImageFormat formatOf(String extension) {
        return switch (extension.toLowerCase(Locale.ROOT)) {
            case ".jpg", ".jpeg" -> ImageFormat.JPEG;
            case ".png" -> ImageFormat.PNG;
            case ".webp" -> ImageFormat.WEBP;
            case ".bmp" -> ImageFormat.BMP;
            case ".tif", ".tiff" -> ImageFormat.TIFF;
            default -> ImageFormat.PNG;
        };
    }

    @FunctionalInterface
    private interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private static void atomically(Path target, Content content) throws IOException {
        Path temporary = target.resolveSibling("." + target.getFileName() + ".tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temporary), 1 << 16)) {
            content.writeTo(out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}

package dev.sapienseg.batch;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleFunction;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.output.OutputEncoder;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputLayout;
import dev.sapienseg.report.SegmentationReport;

/**
 * The files written per picture, in its mirrored output folder, named by {@link OutputLayout#SAPIENS_FOLDER}: what
 * Sapiens writes ({@code <stem>.npy} bool foreground mask, {@code <stem>_seg.npy} int64 class map, the side-by-side
 * visualisation named like the input) and ours ({@code <stem>_seg.png} palette PNG of class ids, {@code <stem>.json}
 * summary); by default all of them, or the kinds chosen with {@code --outputs} (the summary always). Each file is
 * written to a temporary name and renamed, the summary last: a picture whose summary exists, newer than the picture,
 * with every chosen file beside it, is complete.
 */
public final class BatchOutputs {

    private final Path root;
    private final Set<OutputKind> kinds;
    private final String select;
    private final boolean invert;
    private final ObjectWriter json = new ObjectMapper().writerWithDefaultPrettyPrinter();

    /** Sapiens' outputs and ours: every kind but the selective ones (the command's default). */
    public BatchOutputs(Path root) {
        this(root, EnumSet.of(OutputKind.MASK_NPY, OutputKind.CLASS_NPY, OutputKind.CLASS_PNG, OutputKind.OVERLAY));
    }

    public BatchOutputs(Path root, Set<OutputKind> kinds) {
        this(root, kinds, null, false);
    }

    /** @param select the selection of the selective outputs ({@link Selection}; null: the person) */
    public BatchOutputs(Path root, Set<OutputKind> kinds, String select, boolean invert) {
        this.root = root;
        this.kinds = EnumSet.of(OutputKind.SUMMARY);
        this.kinds.addAll(kinds);
        this.select = select;
        this.invert = invert;
    }

    /** The selection in the served model's classes when a selective output is written, else null. */
    public Selection selection(Vocabulary vocabulary) {
        return kinds.stream().anyMatch(OutputKind::selective) ? Selection.parse(select, invert, vocabulary) : null;
    }

    public Path dir(InputImage image) {
        return root.resolve(image.relativeDir());
    }

    public Path file(InputImage image, OutputKind kind) {
        return dir(image).resolve(OutputLayout.SAPIENS_FOLDER.fileName(kind, image.stem(), image.extension()));
    }

    /** The files chosen, the summary last. */
    public List<Path> files(InputImage image) {
        return kinds.stream().map(kind -> file(image, kind)).toList();
    }

    /** All chosen outputs exist and the summary (written last) is not older than the picture. */
    public boolean complete(InputImage image) {
        try {
            for (Path file : files(image)) {
                if (!Files.isRegularFile(file)) {
                    return false;
                }
            }
            FileTime source = Files.getLastModifiedTime(image.source());
            return Files.getLastModifiedTime(file(image, OutputKind.SUMMARY)).compareTo(source) >= 0
                    && sameSelection(file(image, OutputKind.SUMMARY));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Writes every chosen output; {@code report} gets the milliseconds spent encoding and writing the other files,
     * since the summary is written last. The visualisation is encoded in the format its name says
     * ({@link OutputLayout#overlayFormat}), as Sapiens' {@code cv2.imwrite} does.
     *
     * @param selection {@link #selection} for this run's vocabulary (null without selective outputs)
     */
    public void write(InputImage image, DecodedImage decoded, byte[] classMap, Vocabulary vocabulary,
            Selection selection, DoubleFunction<SegmentationReport> report) throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(dir(image));
        Map<OutputKind, OutputFile> files = OutputEncoder.encode(kinds, decoded, classMap,
                OutputLayout.overlayFormat(image.extension()), vocabulary, selection);
        for (OutputFile file : files.values()) {
            atomically(file(image, file.kind()), file::writeTo);
        }
        double encodeMillis = Math.round((System.nanoTime() - start) / 10_000.0) / 100.0;
        atomically(file(image, OutputKind.SUMMARY), out -> json.writeValue(out, report.apply(encodeMillis)));
    }

    /** Selective outputs made with another selection (the summary records it) are not this run's outputs. */
    private boolean sameSelection(Path summary) throws IOException {
        if (kinds.stream().noneMatch(OutputKind::selective)) {
            return true;
        }
        com.fasterxml.jackson.databind.JsonNode recorded = new ObjectMapper().readTree(summary.toFile())
                .path("selection");
        return recorded.path("expression").asText("").equals(Selection.normalise(select))
                && recorded.path("invert").asBoolean(false) == invert;
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

package dev.sapienseg.batch;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputLayout;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.pipeline.Segmentation;
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

    /** Sapiens' outputs and ours, without the selective ones: the command's default. */
    public static final Set<OutputKind> SAPIENS_KINDS = Collections.unmodifiableSet(EnumSet.of(OutputKind.MASK_NPY,
            OutputKind.CLASS_NPY, OutputKind.CLASS_PNG, OutputKind.OVERLAY));

    private final Path root;
    private final OutputPlan plan;
    /** The plan's kinds and the summary, which is always written (last). */
    private final Set<OutputKind> kinds;
    private static final ObjectMapper READER = new ObjectMapper();
    private final ObjectWriter json = READER.writerWithDefaultPrettyPrinter();

    /** {@link #SAPIENS_KINDS}. */
    public BatchOutputs(Path root) {
        this(root, new OutputPlan(SAPIENS_KINDS, null));
    }

    /** @param plan the outputs of every picture and the selection of the selective ones */
    public BatchOutputs(Path root, OutputPlan plan) {
        this.root = root;
        this.plan = plan;
        this.kinds = EnumSet.of(OutputKind.SUMMARY);
        plan.kinds().stream().filter(OutputKind::perPicture).forEach(this.kinds::add);
    }

    /** What every picture is made into. */
    public OutputPlan plan() {
        return plan;
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
                    && madeAsPlanned(file(image, OutputKind.SUMMARY));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Writes every planned output of {@code segmentation}, each to a temporary name renamed into place, and then the
     * summary.
     */
    public void write(InputImage image, Segmentation segmentation, SegmentationReport summary) throws IOException {
        Files.createDirectories(dir(image));
        for (OutputFile file : segmentation.outputs().values()) {
            atomically(file(image, file.kind()), file::writeTo);
        }
        ObjectNode recorded = READER.valueToTree(summary);
        recorded.putObject("made").put("edges", plan.edges().id())
                .put("polygonTolerance", plan.shapes().polygonTolerance())
                .put("minPersonShare", plan.shapes().minPersonShare());
        atomically(file(image, OutputKind.SUMMARY), out -> json.writeValue(out, recorded));
    }

    /**
     * Outputs made otherwise than this run would make them are not this run's: the selective ones with another
     * selection, a cutout with other edges, polygons with another tolerance, instances with another least person (the
     * summary records them; one written before it recorded {@code made} had hard edges and no shapes).
     */
    private boolean madeAsPlanned(Path summary) throws IOException {
        JsonNode root = READER.readTree(summary.toFile());
        Selection selection = plan.selection();
        JsonNode recorded = root.path("selection");
        if (selection != null && !(recorded.path("expression").asText("").equals(selection.expression())
                && recorded.path("invert").asBoolean(false) == selection.invert())) {
            return false;
        }
        JsonNode made = root.path("made");
        return !(plan.has(OutputKind.CUTOUT) && !made.path("edges").asText("hard").equals(plan.edges().id())
                || plan.has(OutputKind.POLYGONS)
                        && made.path("polygonTolerance").asDouble(Double.NaN) != plan.shapes().polygonTolerance()
                || plan.has(OutputKind.INSTANCES)
                        && made.path("minPersonShare").asDouble(Double.NaN) != plan.shapes().minPersonShare());
    }

    @FunctionalInterface
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    static void atomically(Path target, Content content) throws IOException {
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

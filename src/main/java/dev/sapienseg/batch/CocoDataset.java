package dev.sapienseg.batch;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputKind;

/**
 * The {@code coco} output of a batch run: one {@value #FILE} in the output folder, a COCO dataset that pycocotools'
 * {@code COCO()} loads as it is. Made at the end of every run from the RLE files of every picture whose outputs are
 * complete, those of earlier runs included, so a rerun rewrites it without segmenting again:
 * <ul>
 * <li>{@code images}: id from 1 in the run's order of pictures, {@code file_name} the picture's path under the input
 * folder, width, height;</li>
 * <li>{@code categories}: the served family's classes but the background (COCO leaves unlabelled pixels as
 * background, and tools read category 0 as none): id = class id, name, {@code supercategory} {@code person}, and
 * {@code color} the palette's RGB;</li>
 * <li>{@code annotations}: one per picture and class present, {@code segmentation} the class's RLE, {@code area} its
 * pixels, {@code bbox} {@code [x, y, width, height]}, {@code iscrowd} 1, as COCO marks RLE annotations.</li>
 * </ul>
 */
public final class CocoDataset {

    public static final String FILE = "coco.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What was written: pictures and annotations. */
    public record Written(Path file, int images, int annotations) {
    }

    private CocoDataset() {
    }

    /**
     * @param images the run's pictures, in order; those without complete outputs are left out
     * @param model the served model's name, recorded in {@code info}
     */
    public static Written write(Path root, List<InputImage> images, BatchOutputs outputs, Vocabulary vocabulary,
            String model) throws IOException {
        Files.createDirectories(root);
        Path file = root.resolve(FILE);
        int[] counts = new int[2];
        BatchOutputs.atomically(file, out -> counts[1] = write(out, images, outputs, vocabulary, model, counts));
        return new Written(file, counts[0], counts[1]);
    }

    /** {@link #write} at the end of a run, saying what it wrote on {@code out}; false (said on {@code err}) if not. */
    static boolean writeAfterRun(Path root, List<InputImage> images, BatchOutputs outputs, SegmentationModel model,
            PrintStream out, PrintStream err) {
        try {
            Written coco = write(root, images, outputs, Vocabulary.of(model.contract().family()), model.name());
            out.printf("coco: %d picture(s), %d annotation(s) -> %s%n", coco.images(), coco.annotations(), coco.file());
            return true;
        } catch (IOException | RuntimeException e) {
            err.println("cannot write " + FILE + ": " + e);
            return false;
        }
    }

    private static int write(OutputStream stream, List<InputImage> images, BatchOutputs outputs, Vocabulary vocabulary,
            String model, int[] counts) throws IOException {
        int annotations = 0;
        List<JsonNode> written = new ArrayList<>();
        try (JsonGenerator out = JSON.getFactory().createGenerator(stream)) {
            out.writeStartObject();
            out.writeObjectFieldStart("info");
            out.writeStringField("description", "Sapiens body-part segmentation");
            out.writeStringField("model", model);
            out.writeStringField("vocabulary", vocabulary.name());
            out.writeEndObject();
            out.writeArrayFieldStart("licenses");
            out.writeEndArray();
            out.writeArrayFieldStart("categories");
            for (int c = 1; c < vocabulary.names().size(); c++) {
                out.writeStartObject();
                out.writeNumberField("id", c);
                out.writeStringField("name", vocabulary.names().get(c));
                out.writeStringField("supercategory", "person");
                out.writeArrayFieldStart("color");
                for (int channel : vocabulary.paletteRgb()[c]) {
                    out.writeNumber(channel);
                }
                out.writeEndArray();
                out.writeEndObject();
            }
            out.writeEndArray();
            out.writeArrayFieldStart("annotations");
            for (InputImage image : images) {
                if (!outputs.complete(image)) {
                    continue;
                }
                JsonNode shapes = JSON.readTree(outputs.file(image, OutputKind.RLE).toFile());
                written.add(JSON.createObjectNode().put("id", written.size() + 1)
                        .put("file_name", image.label().replace('\\', '/'))
                        .put("width", shapes.get("width").asInt()).put("height", shapes.get("height").asInt()));
                for (JsonNode c : shapes.get("classes")) {
                    if (c.get("id").asInt() == 0) {
                        continue;
                    }
                    JsonNode box = c.get("bbox");
                    out.writeStartObject();
                    out.writeNumberField("id", ++annotations);
                    out.writeNumberField("image_id", written.size());
                    out.writeNumberField("category_id", c.get("id").asInt());
                    out.writeObjectField("segmentation", c.get("rle"));
                    out.writeNumberField("area", c.get("pixels").asLong());
                    out.writeArrayFieldStart("bbox");
                    for (String field : new String[] {"x", "y", "width", "height"}) {
                        out.writeNumber(box.get(field).asInt());
                    }
                    out.writeEndArray();
                    out.writeNumberField("iscrowd", 1);
                    out.writeEndObject();
                }
            }
            out.writeEndArray();
            out.writeArrayFieldStart("images");
            for (JsonNode image : written) {
                out.writeTree(image);
            }
            out.writeEndArray();
            out.writeEndObject();
        }
        counts[0] = written.size();
        return annotations;
    }
}

package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.sapienseg.output.OutputKind;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No two pictures of a run share an output file, and Sapiens' own names are kept where they are free. */
class BatchInputsTest {

    @TempDir
    Path dir;

    @Test
    void noTwoPicturesShareAnOutputFile() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        List<String> names = List.of("x.jpg", "x_seg.jpg", "x_seg.png", "x_seg_seg.jpg", "x.npy.png", "a.jpg",
                "a.png", "A.JPG", "a_jpg.png", "a_2.jpg", "person.jpg", "x_2.jpg", "sub/x.jpg", "sub/x_seg.jpg",
                "w.webp", "w.png", "t.tiff", "t_seg.jpg", "v.bmp", "v_seg.png", "scan.TIF", "pic.jpeg", "coco.jpg",
                "sub/coco.png", "y_rle.png", "y.jpg");
        for (String name : names) {
            Path file = in.resolve(name);
            Files.createDirectories(file.getParent());
            Files.write(file, new byte[] {1});
        }
        Path outRoot = dir.resolve("out");
        List<InputImage> images = BatchInputs.collect(in, outRoot).images();
        assertEquals(names.size(), images.size());
        java.util.Set<OutputKind> every = java.util.EnumSet.allOf(OutputKind.class);
        every.removeIf(OutputKind::selective);
        BatchOutputs outputs = new BatchOutputs(outRoot, new dev.sapienseg.output.OutputPlan(every, null));
        Map<String, String> owner = new HashMap<>();
        owner.put(outRoot.resolve(CocoDataset.FILE).toString(), "the run's dataset");
        for (InputImage image : images) {
            for (Path file : outputs.files(image)) {
                String key = file.toString().toLowerCase(Locale.ROOT);
                String previous = owner.put(key, image.source().toString());
                assertTrue(previous == null, file + " is an output of both " + previous + " and " + image.source());
            }
        }
        // The run's coco.json is taken at the top: the picture coco.jpg there is coco_2; in a sub-folder it keeps its
        // name.
        assertEquals("coco_2", images.stream().filter(i -> i.source().endsWith("coco.jpg")).findFirst().orElseThrow()
                .stem());
        assertEquals("coco", images.stream().filter(i -> i.source().endsWith("coco.png")).findFirst().orElseThrow()
                .stem());
        // Sapiens' names where nothing collides.
        InputImage person = images.stream().filter(i -> i.source().endsWith("person.jpg")).findFirst().orElseThrow();
        assertEquals(outRoot.resolve("person.npy"), outputs.file(person, OutputKind.MASK_NPY));
        assertEquals(outRoot.resolve("person_seg.npy"), outputs.file(person, OutputKind.CLASS_NPY));
        assertEquals(outRoot.resolve("person.jpg"), outputs.file(person, OutputKind.OVERLAY));
        assertEquals(outRoot.resolve("person_seg.png"), outputs.file(person, OutputKind.CLASS_PNG));
        assertEquals(outRoot.resolve("person.json"), outputs.file(person, OutputKind.SUMMARY));
        InputImage x = images.stream().filter(i -> i.source().equals(in.resolve("x.jpg"))).findFirst().orElseThrow();
        assertEquals(outRoot.resolve("x_seg.npy"), outputs.file(x, OutputKind.CLASS_NPY),
                "the first picture keeps Sapiens' names");
        // The visualisation keeps the input's name where its format is its own overlay format (JPEG, PNG: all that
        // Sapiens' demo reads); other formats' overlays are PNG.
        InputImage jpeg = images.stream().filter(i -> i.source().endsWith("pic.jpeg")).findFirst().orElseThrow();
        assertEquals(outRoot.resolve("pic.jpeg"), outputs.file(jpeg, OutputKind.OVERLAY));
        InputImage tif = images.stream().filter(i -> i.source().endsWith("scan.TIF")).findFirst().orElseThrow();
        assertEquals(outRoot.resolve("scan.png"), outputs.file(tif, OutputKind.OVERLAY));
        // Only the chosen files are listed (the summary always, last).
        assertEquals(List.of(outRoot.resolve("person.npy"), outRoot.resolve("person.json")),
                new BatchOutputs(outRoot, new dev.sapienseg.output.OutputPlan(
                        java.util.EnumSet.of(OutputKind.MASK_NPY), null)).files(person));
    }
}

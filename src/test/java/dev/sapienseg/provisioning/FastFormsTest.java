package dev.sapienseg.provisioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.OnnxGraphBuilder;
import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.FastFormsPolicy;
import dev.sapienseg.model.ModelIdentity;

/** The faster form is written once beside a download, found again, redone when stale, and never blocks serving. */
class FastFormsTest {

    @TempDir
    Path dir;

    private ProvisionedModel download(String name, byte[] model) throws Exception {
        Path file = ModelFiles.write(dir, name, model);
        return new ProvisionedModel(file, new ModelIdentity(FileSha256.of(file), "abc123"));
    }

    @Test
    void writtenOnceBesideTheDownloadThenReused() throws Exception {
        ProvisionedModel published = download("tiny.onnx", FixtureModels.tinyVit());
        ProvisionedModel served = FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU);
        Path fast = dir.resolve("tiny.fast-v1.onnx");
        assertEquals(fast, served.file());
        assertEquals(published.identity(), served.identity(), "replies keep naming the published file");
        Properties record = record("tiny");
        assertEquals("3", record.getProperty("rewritten"));
        assertEquals(published.identity().sha256(), record.getProperty("source-sha256"));
        assertEquals(FileSha256.of(fast), record.getProperty("sha256"));

        FileTime written = Files.getLastModifiedTime(fast);
        Files.setLastModifiedTime(fast, FileTime.fromMillis(written.toMillis() - 60_000));
        FileTime aged = Files.getLastModifiedTime(fast);
        assertEquals(fast, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU).file());
        assertEquals(aged, Files.getLastModifiedTime(fast), "a later start reuses the file");
    }

    @Test
    void redoneForAnotherDownloadOrAChangedFile() throws Exception {
        ProvisionedModel published = download("tiny.onnx", FixtureModels.tinyVit());
        Path fast = FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU).file();
        String sha = FileSha256.of(fast);

        byte[] bytes = Files.readAllBytes(fast);
        bytes[bytes.length / 2] ^= 1;
        Files.write(fast, bytes);
        assertEquals(fast, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU).file());
        assertEquals(sha, FileSha256.of(fast), "a changed faster form is written again");

        ProvisionedModel other = new ProvisionedModel(published.file(), new ModelIdentity("0".repeat(64), null));
        FastForms.serve(other, FastFormsPolicy.AUTO, ExecutionProvider.CPU);
        assertEquals("0".repeat(64), record("tiny").getProperty("source-sha256"), "the record follows the download");
    }

    @Test
    void redoneWhenTheExternalWeightsChangeUnderTheSameGraph() throws Exception {
        OnnxGraphBuilder.ExternalDataModel external = FixtureModels.tinyVitGraph().buildWithExternalData("tiny.data");
        Path data = dir.resolve("tiny.data");
        Files.write(data, external.data());
        Files.writeString(dir.resolve("tiny.data.sha256"), FileSha256.of(data) + "\n"); // as the provisioner records it
        ProvisionedModel published = download("tiny.onnx", external.model());
        Path fast = FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU).file();
        String before = FileSha256.of(fast);
        assertTrue(record("tiny").getProperty("source-data").startsWith("tiny.data="));

        byte[] weights = external.data();
        for (int i = 0; i < weights.length; i += 4) { // new weights, same graph file (a revision that retrains)
            weights[i] ^= 0x40;
        }
        Files.write(data, weights);
        Files.writeString(dir.resolve("tiny.data.sha256"), FileSha256.of(data) + "\n");
        assertEquals(fast, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU).file());
        assertNotEquals(before, FileSha256.of(fast), "the phase weights come from the new data");
    }

    @Test
    void thePolicyAndTheProviderDecide() throws Exception {
        ProvisionedModel published = download("tiny.onnx", FixtureModels.tinyVit());
        assertEquals(published, FastForms.serve(published, FastFormsPolicy.NEVER, ExecutionProvider.CPU));
        assertEquals(published, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CUDA));
        assertFalse(Files.exists(dir.resolve("tiny.fast-v1.onnx")));
        assertEquals(dir.resolve("tiny.fast-v1.onnx"),
                FastForms.serve(published, FastFormsPolicy.ALWAYS, ExecutionProvider.TENSORRT).file());
        ProvisionedModel unhashed = new ProvisionedModel(published.file(), ModelIdentity.UNKNOWN);
        assertEquals(unhashed, FastForms.serve(unhashed, FastFormsPolicy.ALWAYS, ExecutionProvider.CPU));
    }

    @Test
    void aModelWithNothingToRewriteIsServedAsPublishedAndRemembered() throws Exception {
        ProvisionedModel published = download("demo.onnx", FixtureModels.paletteDemo());
        assertEquals(published, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU));
        assertEquals("0", record("demo").getProperty("rewritten"));
        assertFalse(Files.exists(dir.resolve("demo.fast-v1.onnx")));
        assertEquals(published, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU));
    }

    @Test
    void servedAsPublishedWhenTheFasterFormCannotBeWritten() throws Exception {
        ProvisionedModel published = download("tiny.onnx", FixtureModels.tinyVit());
        Files.createDirectories(dir.resolve("tiny.fast-v1.onnx.part").resolve("in-the-way")); // cannot be a file
        assertEquals(published, FastForms.serve(published, FastFormsPolicy.AUTO, ExecutionProvider.CPU));
        assertFalse(Files.exists(dir.resolve("tiny.fast-v1.properties")), "no record of a rewrite that did not happen");

        ProvisionedModel broken = download("broken.onnx", "not a model".getBytes());
        assertEquals(broken, FastForms.serve(broken, FastFormsPolicy.AUTO, ExecutionProvider.CPU));
        assertFalse(Files.exists(dir.resolve("broken.fast-v1.onnx.part")), "no half-written file left behind");
        assertNotEquals(0, Files.size(broken.file()));
    }

    private Properties record(String stem) throws Exception {
        Properties record = new Properties();
        try (Reader in = Files.newBufferedReader(dir.resolve(stem + ".fast-v1.properties"))) {
            record.load(in);
        }
        assertEquals(FastForms.VERSION, record.getProperty("version"));
        return record;
    }
}

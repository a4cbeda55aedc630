package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.StandaloneConfig;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.model.ModelIdentity;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.provisioning.ProvisionedModel;

/** A faster form that does not load is never the end of a start: the published file is loaded instead. */
class FastFormFallbackTest {

    @TempDir
    Path dir;

    @Test
    void aFasterFormThatDoesNotLoadGivesWayToThePublishedFile() throws Exception {
        Path published = ModelFiles.write(dir, "tiny.onnx", FixtureModels.tinyVit());
        Path fast = Files.writeString(dir.resolve("tiny.fast-v1.onnx"), "not a model");
        SapiensConfig config = StandaloneConfig.sapiens(StandaloneConfig.load(Map.of()));
        List<SegmentationModel> sessions = ModelRuntime.loadSessions(
                new ProvisionedModel(fast, ModelIdentity.UNKNOWN, published), config.model(), config.execution(),
                List.of(1));
        try {
            assertEquals(1, sessions.size());
            assertEquals(published, sessions.get(0).path(), "the published file's session");
        } finally {
            sessions.forEach(SegmentationModel::close);
        }

        Path broken = Files.writeString(dir.resolve("broken.onnx"), "not a model either");
        assertThrows(ModelLoadException.class, () -> ModelRuntime.loadSessions(
                new ProvisionedModel(broken, ModelIdentity.UNKNOWN), config.model(), config.execution(), List.of(1)),
                "a published file that does not load is still refused");
    }
}

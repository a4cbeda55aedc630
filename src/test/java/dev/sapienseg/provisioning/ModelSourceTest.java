package dev.sapienseg.provisioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.Normalization;

class ModelSourceTest {

    @Test
    void huggingFaceRepositoriesNameAFileAndARevision() {
        ModelSource.HuggingFace hub = assertInstanceOf(ModelSource.HuggingFace.class,
                ModelSource.parse("hf://onnx-community/sapiens-seg-0.3b"));
        assertEquals("onnx-community/sapiens-seg-0.3b", hub.repo());
        assertEquals("main", hub.revision());
        assertEquals("onnx/model.onnx", hub.file());
        assertEquals("https://huggingface.co/onnx-community/sapiens-seg-0.3b/resolve/main/onnx/model.onnx",
                hub.resolveUrl("https://huggingface.co").toString());

        ModelSource.HuggingFace pinned = assertInstanceOf(ModelSource.HuggingFace.class,
                ModelSource.parse("hf://org/repo@v1.0/onnx/model_fp16.onnx"));
        assertEquals("v1.0", pinned.revision());
        assertEquals("hf://org/repo@v1.0/onnx/model_fp16.onnx", pinned.describe());
        assertEquals("https://mirror.example/org/repo/resolve/v1.0/onnx/model.onnx_data",
                pinned.sibling("model.onnx_data") instanceof ModelSource.HuggingFace h
                        ? h.resolveUrl("https://mirror.example/").toString() : "");
    }

    @Test
    void siblingsStayBesideTheModel() {
        assertEquals(new ModelSource.S3("models", "sapiens/1b/weights/data.bin"),
                ModelSource.parse("s3://models/sapiens/1b/model.onnx").sibling("weights/data.bin"));
        assertEquals("http://host/a/b/model.onnx_data",
                ((ModelSource.Http) ModelSource.parse("http://host/a/b/model.onnx").sibling("model.onnx_data")).uri()
                        .toString());
        assertThrows(IllegalArgumentException.class,
                () -> ModelSource.parse("s3://models/model.onnx").sibling("../../etc/passwd"));
        assertEquals(new ModelSource.LocalFile(Path.of("/m/x.onnx")), ModelSource.parse("file:///m/x.onnx"));
        assertEquals(new ModelSource.LocalFile(Path.of("models/x.onnx")), ModelSource.parse("models/x.onnx"));
    }

    @Test
    void presignedQueriesAreNotLogged() {
        assertEquals("https://bucket.s3.amazonaws.com/m.onnx?…",
                ModelSource.parse("https://bucket.s3.amazonaws.com/m.onnx?X-Amz-Signature=secret").describe());
        assertEquals("https://…@models.example:8443/sapiens/m.onnx",
                ModelSource.parse("https://deploy:s3cr3t@models.example:8443/sapiens/m.onnx").describe());
        assertEquals("http://host/a%20b.onnx", ModelSource.parse("http://host/a%20b.onnx").describe());
    }

    @Test
    void badLocationsAreRefusedWithTheFormatsThatWork() {
        for (String bad : new String[] {"ftp://host/model.onnx", "s3://bucket", "s3:///key", "hf://only-owner",
                "https://host/folder/", " "}) {
            assertThrows(IllegalArgumentException.class, () -> ModelSource.parse(bad), bad);
        }
    }

    @Test
    void presetsSetLocationAndNormalisationUnlessGivenExplicitly() throws Exception {
        ModelChoice hub = ModelChoice.resolve(Optional.empty(), Optional.empty(), Optional.of("hf-0.6b-fp16"),
                Optional.empty(), Optional.empty(), Optional.of("demo.onnx"));
        assertEquals(ModelSource.parse("hf://onnx-community/sapiens-seg-0.6b/onnx/model_fp16.onnx"), hub.source());
        assertEquals(Normalization.IMAGENET, hub.normalization());
        assertTrue(hub.remote());
        // Its publisher's SHA-256 is recorded: a download or cached copy with other bytes is refused.
        assertEquals(Optional.of("cfdbe895c5c7fddc58c3125c6726a2229a1127345812c520cb39bf5982247895"), hub.sha256());
        ModelChoice given = ModelChoice.resolve(Optional.empty(), Optional.empty(), Optional.of("hf-0.6b-fp16"),
                Optional.empty(), Optional.of("ab".repeat(32)), Optional.empty());
        assertEquals(Optional.of("ab".repeat(32)), given.sha256(), "sapiens.model.sha256 wins");
        ModelChoice ownUri = ModelChoice.resolve(Optional.empty(), Optional.of("hf://me/my-export"),
                Optional.of("hf-0.6b-fp16"), Optional.empty(), Optional.empty(), Optional.empty());
        assertEquals(Optional.empty(), ownUri.sha256(), "the preset's SHA-256 is for its own file only");

        // Pinned to the commit that added the ONNX files: the same bytes on every start, whatever main becomes.
        ModelChoice pinned = ModelChoice.resolve(Optional.empty(), Optional.empty(), Optional.of("hf-0.3b"),
                Optional.empty(), Optional.empty(), Optional.empty());
        assertEquals(new ModelSource.HuggingFace("onnx-community/sapiens-seg-0.3b",
                "9f6f12fb68dfa251f579a9b7cfa8072d4cab58a9", "onnx/model.onnx"), pinned.source());

        ModelChoice baked = ModelChoice.resolve(Optional.of("/models/sapiens_1b.onnx"), Optional.empty(),
                Optional.of("lite-1b"), Optional.empty(), Optional.empty(), Optional.of("demo.onnx"));
        assertEquals(new ModelSource.LocalFile(Path.of("/models/sapiens_1b.onnx")), baked.source());
        assertEquals(Normalization.LITE, baked.normalization());

        ModelChoice overridden = ModelChoice.resolve(Optional.empty(), Optional.empty(), Optional.of("hf-0.3b"),
                Optional.of(Normalization.LITE), Optional.empty(), Optional.empty());
        assertEquals(Normalization.LITE, overridden.normalization());

        ModelChoice demo = ModelChoice.resolve(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of("demo.onnx"));
        assertTrue(demo.demo());
    }

    @Test
    void ambiguousOrMissingChoicesSayWhatToSet() {
        ModelLoadException both = assertThrows(ModelLoadException.class, () -> ModelChoice.resolve(Optional.of("a.onnx"),
                Optional.of("hf://o/r"), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty()));
        assertTrue(both.getMessage().contains("set one"), both.getMessage());
        ModelLoadException none = assertThrows(ModelLoadException.class, () -> ModelChoice.resolve(Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty()));
        assertTrue(none.getMessage().contains("hf-0.3b"), none.getMessage());
        ModelLoadException localOnly = assertThrows(ModelLoadException.class, () -> ModelChoice.resolve(Optional.empty(),
                Optional.empty(), Optional.of("lite-1b"), Optional.empty(), Optional.empty(), Optional.empty()));
        assertTrue(localOnly.getMessage().contains("deploy/export"), localOnly.getMessage());
        ModelLoadException unknown = assertThrows(ModelLoadException.class, () -> ModelChoice.resolve(Optional.empty(),
                Optional.empty(), Optional.of("sapiens-2b"), Optional.empty(), Optional.empty(), Optional.empty()));
        assertTrue(unknown.getMessage().contains("known: hf-0.3b"), unknown.getMessage());
    }
}

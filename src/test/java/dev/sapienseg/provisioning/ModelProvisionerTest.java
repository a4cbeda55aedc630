package dev.sapienseg.provisioning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelServer;
import dev.sapienseg.fixtures.ModelServer.Fault;
import dev.sapienseg.fixtures.OnnxGraphBuilder.ExternalDataModel;
import dev.sapienseg.model.ModelIdentity;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.storage.S3ProxyResource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** Downloads over real HTTP (plain and Hub-style) and a real S3 server, including the failures that happen. */
class ModelProvisionerTest {

    private static final ExternalDataModel SPLIT = FixtureModels.tinyVitGraph()
            .buildWithExternalData("weights/tiny-vit.onnx_data");
    private static final byte[] INLINE = FixtureModels.tinyVit();

    private static ModelServer server;
    private static ModelServer cdn;
    private static S3ProxyResource s3Proxy;
    private static S3Client s3;

    @TempDir
    Path cache;

    @BeforeAll
    static void start() throws Exception {
        cdn = new ModelServer().file("/blobs/model.onnx", INLINE).file("/blobs/pinned.onnx", INLINE);
        server = new ModelServer()
                .file("/models/tiny-vit.onnx", SPLIT.model())
                .file("/models/weights/tiny-vit.onnx_data", SPLIT.data())
                .file("/models/inline.onnx", INLINE)
                .file("/flaky/inline.onnx", INLINE)
                .file("/cdn/model.onnx", INLINE)
                .redirect("/onnx-community/sapiens-seg-tiny/resolve/main/onnx/model.onnx", cdn.url("/blobs/model.onnx"),
                        sha256(INLINE))
                .redirect("/acme/corrupt/resolve/main/onnx/model.onnx", "/cdn/model.onnx", "0".repeat(64))
                .redirect("/onnx-community/sapiens-seg-tiny/resolve/" + "c0ffee".repeat(6) + "abcd/onnx/model.onnx",
                        cdn.url("/blobs/pinned.onnx"), sha256(INLINE))
                .redirect("/acme/branch/resolve/main/onnx/model.onnx", "/cdn/model.onnx", sha256(INLINE))
                .status("/acme/gated/resolve/main/onnx/model.onnx", 401)
                .stallFor(20_000);
        s3Proxy = new S3ProxyResource();
        s3Proxy.start();
        s3 = S3ProxyResource.client();
        s3.createBucket(b -> b.bucket("models"));
        s3.putObject(b -> b.bucket("models").key("sapiens/tiny-vit.onnx"), RequestBody.fromBytes(SPLIT.model()));
        s3.putObject(b -> b.bucket("models").key("sapiens/weights/tiny-vit.onnx_data"), RequestBody.fromBytes(SPLIT.data()));
    }

    @AfterAll
    static void stop() {
        server.close();
        cdn.close();
        s3.close();
        s3Proxy.stop();
    }

    private ModelProvisioner provisioner(DownloadProgress progress) {
        return ModelProvisioner.standard(new ModelProvisioner.Settings(cache, 3, Duration.ofSeconds(1),
                Duration.ofMillis(50), Duration.ofMillis(100)), server.base(), Optional.of("hf_test_token"),
                () -> S3ProxyResource.client(), progress);
    }

    @Test
    void httpModelWithExternalDataIsDownloadedVerifiedAndLoads() throws Exception {
        Path model = provisioner(new DownloadProgress()).provision(ModelSource.parse(server.url("/models/tiny-vit.onnx")),
                Optional.of(sha256(SPLIT.model()).toUpperCase())).file();
        assertTrue(model.startsWith(cache));
        assertArrayEquals(SPLIT.model(), Files.readAllBytes(model));
        assertArrayEquals(SPLIT.data(), Files.readAllBytes(model.resolveSibling("weights/tiny-vit.onnx_data")));
        assertNoPartialFiles();
        // ONNX Runtime finds the weights beside the model in the cache: the real loading code serves it.
        try (SegmentationModel loaded = SegmentationModel.load(ModelSettings.cpu(model))) {
            assertEquals(28, loaded.contract().classes());
        }

        // A second start finds everything in the cache and downloads nothing.
        int before = server.requests("/models/tiny-vit.onnx") + server.requests("/models/weights/tiny-vit.onnx_data");
        assertEquals(model, provisioner(new DownloadProgress()).provision(
                ModelSource.parse(server.url("/models/tiny-vit.onnx")), Optional.empty()).file());
        assertEquals(before, server.requests("/models/tiny-vit.onnx") + server.requests("/models/weights/tiny-vit.onnx_data"));
    }

    @Test
    void externalDataIsFoundInTheProtobufAndInlineModelsHaveNone() throws Exception {
        Path split = Files.write(cache.resolve("split.onnx"), SPLIT.model());
        Path inline = Files.write(cache.resolve("inline.onnx"), INLINE);
        assertEquals(Set.of("weights/tiny-vit.onnx_data"), ExternalDataFiles.of(split));
        assertEquals(Set.of(), ExternalDataFiles.of(inline));
        Path evil = Files.write(cache.resolve("evil.onnx"), FixtureModels.tinyVitGraph()
                .buildWithExternalData("../../etc/shadow").model());
        assertThrows(java.io.IOException.class, () -> ExternalDataFiles.of(evil));
    }

    @Test
    void hubDownloadsSendTheTokenAndCheckThePublishedSha256() throws Exception {
        Path model = provisioner(new DownloadProgress()).provision(ModelSource.parse("hf://onnx-community/sapiens-seg-tiny"),
                Optional.empty()).file();
        assertArrayEquals(INLINE, Files.readAllBytes(model));
        assertEquals(Optional.of("Bearer hf_test_token"),
                server.authorization("/onnx-community/sapiens-seg-tiny/resolve/main/onnx/model.onnx"));
        // The Hub redirected to a CDN on another origin: the token must not follow.
        assertEquals(1, cdn.requests("/blobs/model.onnx"));
        assertEquals(Optional.empty(), cdn.authorization("/blobs/model.onnx"));

        ModelLoadException corrupt = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse("hf://acme/corrupt"), Optional.empty()).file());
        assertTrue(corrupt.getMessage().contains("publisher says " + "0".repeat(64)), corrupt.getMessage());
        assertTrue(corrupt.getMessage().contains("after 3 attempts"), corrupt.getMessage());

        ModelLoadException gated = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse("hf://acme/gated"), Optional.empty()).file());
        assertTrue(gated.getMessage().contains("HTTP 401") && gated.getMessage().contains("HF_TOKEN"), gated.getMessage());
        assertEquals(1, server.requests("/acme/gated/resolve/main/onnx/model.onnx"), "a 401 is not retried");
        assertNoPartialFiles();
    }

    @Test
    void aWrongSha256IsRefusedAtOnceAndLeavesNothingBehind() throws Exception {
        String path = "/models/inline.onnx";
        int before = server.requests(path);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse(server.url(path)), Optional.of("ab".repeat(32))).file());
        assertTrue(e.getMessage().contains("SHA-256 mismatch") && e.getMessage().contains(sha256(INLINE)), e.getMessage());
        assertEquals(before + 1, server.requests(path));
        assertNoModelFiles();

        ModelLoadException notHex = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse(server.url(path)), Optional.of("abc")).file());
        assertTrue(notHex.getMessage().contains("64 hex digits"), notHex.getMessage());
    }

    @Test
    void transientFailuresAreRetriedUntilTheFileIsWhole() throws Exception {
        String path = "/flaky/inline.onnx";
        server.fault(path, Fault.STATUS_503, 1).fault(path, Fault.TRUNCATE, 1);
        Path model = provisioner(new DownloadProgress()).provision(ModelSource.parse(server.url(path)),
                Optional.of(sha256(INLINE))).file();
        assertArrayEquals(INLINE, Files.readAllBytes(model));
        List<String> ranges = server.ranges(path);
        assertEquals(2, ranges.size(), "after the 503: a cut-off body, then the rest of it " + ranges);
        assertEquals("", ranges.get(0));
        assertTrue(ranges.get(1).matches("bytes=[1-9]\\d*-"), "the second try resumes: " + ranges);
        assertNoPartialFiles();
    }

    @Test
    void aStalledDownloadIsAbortedAndRetried() throws Exception {
        String path = "/models/inline.onnx";
        server.fault(path, Fault.STALL, 1);
        int before = server.requests(path);
        long start = System.nanoTime();
        Path model = provisioner(new DownloadProgress()).provision(ModelSource.parse(server.url(path)), Optional.empty()).file();
        assertArrayEquals(INLINE, Files.readAllBytes(model));
        assertEquals(before + 2, server.requests(path));
        // The server would hold the connection for 20 s; the watchdog gives up after 1 s without data.
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "aborted after the 1 s stall timeout");
    }

    @Test
    void aCompleteCacheIsUsedWithoutWritingToIt() throws Exception {
        ModelSource source = ModelSource.parse(server.url("/models/tiny-vit.onnx"));
        Path model = provisioner(new DownloadProgress()).provision(source, Optional.empty()).file();
        Files.delete(model.resolveSibling(".lock"));
        Files.delete(model.resolveSibling("source.txt"));
        int before = server.requests("/models/tiny-vit.onnx");
        // As from a read-only volume filled in advance: nothing is created, nothing downloaded.
        assertEquals(model, provisioner(new DownloadProgress()).provision(source, Optional.empty()).file());
        assertFalse(Files.exists(model.resolveSibling(".lock")));
        assertFalse(Files.exists(model.resolveSibling("source.txt")));
        assertEquals(before, server.requests("/models/tiny-vit.onnx"));
    }

    @Test
    void aCachedFileChangedAfterItWasVerifiedIsRefused() throws Exception {
        ModelSource source = ModelSource.parse(server.url("/models/tiny-vit.onnx"));
        ProvisionedModel first = provisioner(new DownloadProgress()).provision(source, Optional.empty());
        assertEquals(sha256(SPLIT.model()), first.identity().sha256());
        assertNull(first.identity().revision(), "a plain URL has no revision");
        int before = server.requests("/models/weights/tiny-vit.onnx_data");

        // The weights are changed in place; their marker is left as it was (a shared or pre-filled cache).
        Path data = first.file().resolveSibling("weights/tiny-vit.onnx_data");
        byte[] tampered = Files.readAllBytes(data);
        tampered[tampered.length / 2] ^= 0x01;
        Files.write(data, tampered);
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> provisioner(new DownloadProgress()).provision(source, Optional.empty()));
        assertTrue(e.getMessage().contains("tiny-vit.onnx_data has SHA-256 " + sha256(tampered))
                && e.getMessage().contains(sha256(SPLIT.data()) + " was recorded") && e.getMessage().contains("Delete"),
                e.getMessage());
        assertEquals(before, server.requests("/models/weights/tiny-vit.onnx_data"), "refused, not silently replaced");

        // The model file itself, same story; restored, the cache is used again.
        Files.write(data, SPLIT.data());
        byte[] graph = Files.readAllBytes(first.file());
        graph[graph.length - 1] ^= 0x01;
        Files.write(first.file(), graph);
        assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress()).provision(source, Optional.empty()));
        Files.write(first.file(), SPLIT.model());
        assertEquals(first, provisioner(new DownloadProgress()).provision(source, Optional.empty()));
    }

    @Test
    void theIdentityNamesThePinnedRevisionAndLocalFilesAreHashed() throws Exception {
        ProvisionedModel pinned = provisioner(new DownloadProgress()).provision(
                ModelSource.parse("hf://onnx-community/sapiens-seg-tiny@" + "c0ffee".repeat(6) + "abcd/onnx/model.onnx"),
                Optional.empty());
        assertEquals(new ModelIdentity(sha256(INLINE), "c0ffee".repeat(6) + "abcd"), pinned.identity());
        ProvisionedModel branch = provisioner(new DownloadProgress()).provision(
                ModelSource.parse("hf://acme/branch"), Optional.empty());
        assertEquals(new ModelIdentity(sha256(INLINE), null), branch.identity(), "main is a branch, not a revision");
        Path local = Files.write(cache.resolve("hashed.onnx"), INLINE);
        assertEquals(new ModelIdentity(sha256(INLINE), null), provisioner(new DownloadProgress())
                .provision(new ModelSource.LocalFile(local), Optional.empty()).identity());
    }

    @Test
    void aNewVersionOfTheModelBringsItsOwnExternalData() throws Exception {
        try (ModelServer versions = new ModelServer()) {
            versions.file("/m/model.onnx", SPLIT.model()).file("/m/weights/tiny-vit.onnx_data", SPLIT.data());
            ModelSource source = ModelSource.parse(versions.url("/m/model.onnx"));
            Path model = provisioner(new DownloadProgress()).provision(source, Optional.of(sha256(SPLIT.model()))).file();

            // Same names, new contents: a re-export published at the same URL, pinned by its new SHA-256.
            ExternalDataModel v2 = FixtureModels.tinyVitGraph().metadata("version", "2")
                    .buildWithExternalData("weights/tiny-vit.onnx_data");
            byte[] data2 = v2.data().clone();
            data2[0] ^= 0x40;
            versions.file("/m/model.onnx", v2.model()).file("/m/weights/tiny-vit.onnx_data", data2);
            provisioner(new DownloadProgress()).provision(source, Optional.of(sha256(v2.model()))).file();
            assertArrayEquals(v2.model(), Files.readAllBytes(model));
            assertArrayEquals(data2, Files.readAllBytes(model.resolveSibling("weights/tiny-vit.onnx_data")));
        }
    }

    @Test
    void notFoundIsAnswerFinal() {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse(server.url("/models/missing.onnx")), Optional.empty()).file());
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertEquals(1, server.requests("/models/missing.onnx"));
    }

    @Test
    void s3ModelWithExternalDataIsDownloaded() throws Exception {
        DownloadProgress progress = new DownloadProgress();
        Path model = provisioner(progress).provision(ModelSource.parse("s3://models/sapiens/tiny-vit.onnx"),
                Optional.of(sha256(SPLIT.model()))).file();
        assertArrayEquals(SPLIT.data(), Files.readAllBytes(model.resolveSibling("weights/tiny-vit.onnx_data")));
        assertFalse(progress.active());
        try (SegmentationModel loaded = SegmentationModel.load(ModelSettings.cpu(model))) {
            assertEquals(28, loaded.contract().classes());
        }
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(ModelSource.parse("s3://models/sapiens/nope.onnx"), Optional.empty()).file());
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void localFilesAreUsedInPlaceAndCheckedWhenASha256IsGiven() throws Exception {
        Path local = Files.write(cache.resolve("local.onnx"), INLINE);
        assertEquals(local, provisioner(new DownloadProgress()).provision(new ModelSource.LocalFile(local),
                Optional.of(sha256(INLINE))).file());
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> provisioner(new DownloadProgress())
                .provision(new ModelSource.LocalFile(local), Optional.of("cd".repeat(32))).file());
        assertTrue(e.getMessage().contains("SHA-256 mismatch"), e.getMessage());
    }

    private void assertNoPartialFiles() throws Exception {
        try (Stream<Path> files = Files.walk(cache)) {
            List<Path> parts = files.filter(p -> p.toString().endsWith(".part")).toList();
            assertEquals(List.of(), parts);
        }
    }

    private void assertNoModelFiles() throws Exception {
        try (Stream<Path> files = Files.walk(cache)) {
            List<Path> models = files.filter(p -> p.toString().endsWith(".onnx") || p.toString().endsWith(".part"))
                    .toList();
            assertEquals(List.of(), models);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}

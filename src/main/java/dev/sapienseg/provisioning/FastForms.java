package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import org.jboss.logging.Logger;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.FastFormsPolicy;
import dev.sapienseg.onnx.OnnxRewriter;

/**
 * Serves a downloaded model in its faster form ({@link dev.sapienseg.onnx.SubpixelDeconv}): rewritten once, beside the
 * download, and found again by later starts. Beside {@code model.onnx} go {@code model.fast-v1.onnx} and
 * {@code model.fast-v1.properties}, which records the published file, its SHA-256 and its external-data files',
 * and the rewritten file's own SHA-256; it is written last, so a pod killed mid-rewrite leaves nothing that looks
 * finished. A record for other published bytes, or a rewritten file that no longer matches its SHA-256, is
 * rewritten again. The rewrite is an optimisation: when it cannot be written (a read-only cache, a full disk, a graph
 * it cannot read) the model is served as published, with a warning.
 */
public final class FastForms {

    private static final Logger LOG = Logger.getLogger(FastForms.class);
    /** Raised when the rewrite changes, so caches written by an earlier one are redone. */
    static final String VERSION = "1";

    private FastForms() {
    }

    /** The file to load for a verified download: its faster form when wanted and possible, else the download. */
    public static ProvisionedModel serve(ProvisionedModel published, FastFormsPolicy policy,
            ExecutionProvider provider) {
        if (!policy.wanted(provider) || published.identity().sha256() == null) {
            return published;
        }
        Path model = published.file();
        // The version is in the names: pods of two releases sharing a cache do not rewrite each other's file.
        String stem = model.getFileName().toString().replaceFirst("\\.onnx$", "") + ".fast-v" + VERSION;
        Path fast = model.resolveSibling(stem + ".onnx");
        Path record = model.resolveSibling(stem + ".properties");
        try {
            Source source = Source.of(model, published.identity().sha256());
            Optional<Path> done = reuse(record, fast, source, model);
            if (done.isEmpty()) {
                // Pods sharing the cache take turns; whoever waited finds the record written.
                try (FileChannel lockFile = FileChannel.open(model.resolveSibling(".lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                    done = reuse(record, fast, source, model);
                    if (done.isEmpty()) {
                        done = Optional.of(write(model, source, fast, record));
                    }
                }
            }
            return new ProvisionedModel(done.get(), published.identity(), model);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("model %s: served as published; its faster form could not be written beside it (%s). Set"
                    + " sapiens.model.fast-forms=never to skip the attempt", model, e.toString());
            return published;
        }
    }

    /**
     * The bytes a faster form is derived from: the model file's SHA-256 and each external-data file's (as recorded
     * when it was downloaded and verified), since a new revision may keep the graph file and change the weights.
     */
    private record Source(String sha256, String data) {
        static Source of(Path model, String sha256) throws IOException {
            StringBuilder data = new StringBuilder();
            for (String location : ExternalDataFiles.of(model)) {
                Path file = model.resolveSibling(location).normalize();
                Optional<String> recorded = ModelProvisioner.recorded(file); // verified by this start's provisioning
                String sha = recorded.isPresent() ? recorded.get() : FileSha256.of(file);
                data.append(data.length() == 0 ? "" : " ").append(location).append('=').append(sha);
            }
            return new Source(sha256, data.toString());
        }
    }

    /** The file a complete record names for this published file (itself when nothing was rewritten); reads only. */
    private static Optional<Path> reuse(Path record, Path fast, Source source, Path model) throws IOException {
        if (!Files.isRegularFile(record)) {
            return Optional.empty();
        }
        Properties recorded = new Properties();
        try (Reader in = Files.newBufferedReader(record, StandardCharsets.UTF_8)) {
            recorded.load(in);
        }
        if (!source.sha256().equals(recorded.getProperty("source-sha256"))
                || !source.data().equals(recorded.getProperty("source-data"))) {
            return Optional.empty();
        }
        if ("0".equals(recorded.getProperty("rewritten"))) {
            return Optional.of(model);
        }
        String expected = recorded.getProperty("sha256", "");
        if (Files.isRegularFile(fast) && FileSha256.of(fast).equals(expected)) {
            LOG.infof("model %s: served in its faster form %s (%s ConvTranspose rewritten, sha256 %s, verified)",
                    model.getFileName(), fast, recorded.getProperty("rewritten"), expected);
            return Optional.of(fast);
        }
        LOG.warnf("the faster form %s does not match the SHA-256 recorded when it was written: writing it again", fast);
        return Optional.empty();
    }

    private static Path write(Path model, Source source, Path fast, Path record) throws IOException {
        long start = System.nanoTime();
        Path part = fast.resolveSibling(fast.getFileName() + ".part");
        Files.deleteIfExists(record);
        Files.deleteIfExists(fast); // a stale one must not hold the cache volume's space while its successor is written
        OnnxRewriter.Result result;
        try {
            result = OnnxRewriter.rewrite(model, part, Map.of(
                    "sapiens.model", model.getFileName().toString().replaceFirst("\\.onnx$", ""),
                    "sapiens.fast-forms", "ConvTranspose 4x4 stride 2 as 2x2 Conv phases + DepthToSpace (rewrite "
                            + VERSION + ") of " + model.getFileName() + " sha256 " + source.sha256()));
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(part); // a 1.4 GB half-file must not fill the cache volume
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        Properties written = new Properties();
        written.setProperty("version", VERSION);
        written.setProperty("source", model.getFileName().toString());
        written.setProperty("source-sha256", source.sha256());
        written.setProperty("source-data", source.data());
        written.setProperty("rewritten", Integer.toString(result.rewritten()));
        written.setProperty("weights-dropped", Integer.toString(result.weightsDropped()));
        Path served = model;
        if (result.rewritten() > 0) {
            Files.move(part, fast, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            written.setProperty("sha256", FileSha256.of(fast));
            served = fast;
            LOG.infof("model %s: rewrote %d ConvTranspose (4x4, stride 2) as 2x2 Conv phases + DepthToSpace in %d ms"
                    + " into %s (sha256 %s); later starts reuse it", model.getFileName(), result.rewritten(),
                    (System.nanoTime() - start) / 1_000_000, fast, written.getProperty("sha256"));
        } else {
            LOG.infof("model %s: no ConvTranspose to rewrite; served as published", model.getFileName());
        }
        Path recordPart = record.resolveSibling(record.getFileName() + ".part");
        try (Writer out = Files.newBufferedWriter(recordPart, StandardCharsets.UTF_8)) {
            written.store(out, "the faster form of " + model.getFileName() + " (sapiens-seg); delete to redo");
        }
        Files.move(recordPart, record, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return served;
    }
}

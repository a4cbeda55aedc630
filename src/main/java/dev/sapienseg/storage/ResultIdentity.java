package dev.sapienseg.storage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.output.Edges;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.util.Digests;

/**
 * What a stored result is made from, and its digest: the reuse check compares it. The digest covers every field in
 * full; the user metadata of each object written shows bounded forms of the free-text ones, so that it stays within
 * S3's 2 KB for any legal key.
 */
public record ResultIdentity(String bucket, String key, String eTag, String versionId, String model, String outputs,
        String digest) {

    static final String META_SOURCE_BUCKET = "sapiens-source-bucket";
    /** SHA-256 of {@code bucket "/" key}: keys may be 1024 bytes, too long for S3's 2 KB of user metadata. */
    static final String META_SOURCE_DIGEST = "sapiens-source-digest";
    /** The source's ETag when its results were made (the backfill command skips pictures whose results record it). */
    public static final String META_SOURCE_ETAG = "sapiens-source-etag";
    static final String META_SOURCE_VERSION = "sapiens-source-version";
    static final String META_MODEL = "sapiens-model";
    static final String META_OUTPUTS = "sapiens-outputs";
    /** SHA-256 over everything the summary was made from: what the reuse check compares. */
    static final String META_IDENTITY = "sapiens-identity";
    /** Which attempt wrote the object: a failed attempt removes only its own. */
    static final String META_ATTEMPT = "sapiens-attempt";

    /** Longest value of a free-text metadata field (ETag, version id, model name, bucket). */
    static final int MAX_META_VALUE = 128;

    /**
     * @param plan the outputs and what they were made with: the selection, soft edges, the polygons' tolerance, the
     *        least person (each named only when it applies, so that plans without them keep their identity)
     */
    static ResultIdentity of(StoredResult.SourceObject source, String model, OutputPlan plan) {
        Selection selection = plan.selection();
        String joined = plan.kinds().stream().map(OutputKind::id).collect(Collectors.joining(","))
                + (selection == null ? "" : ";select=" + selection.expression() + (selection.invert() ? ";invert" : ""))
                + (plan.has(OutputKind.CUTOUT) && plan.edges() == Edges.SOFT ? ";edges=soft" : "")
                + (plan.has(OutputKind.POLYGONS) ? ";tolerance=" + plan.shapes().polygonTolerance() : "")
                + (plan.has(OutputKind.INSTANCES) ? ";min-person-share=" + plan.shapes().minPersonShare() : "");
        String digest = Digests.sha256Hex(String.join("\u0000", source.bucket(), source.key(),
                String.valueOf(source.eTag()), String.valueOf(source.versionId()), model, joined));
        return new ResultIdentity(source.bucket(), source.key(), source.eTag(), source.versionId(), model, joined, digest);
    }

    boolean matches(StoredResult.SourceObject s) {
        return bucket.equals(s.bucket()) && key.equals(s.key()) && Objects.equals(eTag, s.eTag())
                && Objects.equals(versionId, s.versionId());
    }

    /** The user metadata of every object an attempt writes: bounded, ASCII, at most about 1 KB whatever the key. */
    Map<String, String> metadata(String attempt) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_SOURCE_BUCKET, bounded(bucket));
        meta.put(META_SOURCE_DIGEST, Digests.sha256Hex(bucket + "/" + key));
        meta.put(META_SOURCE_ETAG, bounded(String.valueOf(eTag)));
        if (versionId != null) {
            meta.put(META_SOURCE_VERSION, bounded(versionId));
        }
        meta.put(META_MODEL, bounded(model));
        meta.put(META_OUTPUTS, bounded(outputs));
        meta.put(META_IDENTITY, digest);
        meta.put(META_ATTEMPT, attempt);
        return meta;
    }

    /** Printable ASCII (headers), at most {@link #MAX_META_VALUE} characters; longer text ends with its digest. */
    static String bounded(String text) {
        String ascii = text.replaceAll("[^\\x20-\\x7E]", "?");
        if (ascii.length() <= MAX_META_VALUE) {
            return ascii;
        }
        return ascii.substring(0, MAX_META_VALUE - 18) + "~" + Digests.sha256Hex(text).substring(0, 17);
    }
}

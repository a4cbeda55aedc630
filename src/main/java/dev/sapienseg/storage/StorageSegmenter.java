package dev.sapienseg.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.NpyWriter;
import dev.sapienseg.output.SegmentationReport;
import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.OutputRequest;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationException;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.service.SegmentationService;
import dev.sapienseg.storage.StoredResult.StoredObject;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Storage-upload triggers: reads the object named by a notification through the S3 API, segments it with the pod's
 * pipeline and writes the results under the output bucket and prefix, the summary last (it marks the outputs
 * complete). A redelivered event whose outputs are complete and current (same source ETag, model and outputs) is
 * answered from the summary without recomputing. Only allow-listed buckets are read, and nothing is ever fetched from
 * a URL an event supplies: events only name a bucket and a key.
 */
@ApplicationScoped
public class StorageSegmenter {

    private static final Logger LOG = Logger.getLogger(StorageSegmenter.class);

    static final String META_SOURCE_BUCKET = "sapiens-source-bucket";
    static final String META_SOURCE_KEY = "sapiens-source-key";
    static final String META_SOURCE_ETAG = "sapiens-source-etag";
    static final String META_SOURCE_VERSION = "sapiens-source-version";
    static final String META_MODEL = "sapiens-model";
    static final String META_OUTPUTS = "sapiens-outputs";

    private static final Set<String> OUTPUT_NAMES = Set.of("mask-npy", "class-npy", "class-png", "overlay");

    private final S3Client s3;
    private final SapiensConfig config;
    private final SegmentationService service;
    private final SegmentationMetrics metrics;
    private final ObjectMapper json = new ObjectMapper();

    public StorageSegmenter(S3Client s3, SapiensConfig config, SegmentationService service, SegmentationMetrics metrics) {
        this.s3 = s3;
        this.config = config;
        this.service = service;
        this.metrics = metrics;
        if (config.storage().outputPrefix().isEmpty() && config.storage().outputBucket().filter(b -> !b.isBlank()).isEmpty()) {
            LOG.warn("sapiens.storage.output-prefix is empty and results go to the source bucket: every notification"
                    + " would look like one of our own outputs and be ignored; set a prefix or an output bucket");
        }
    }

    /** Handles every object of a notification; throws {@link EventIgnoredException} if none needs work. */
    public StoredResult.Reply handle(List<ObjectEvent> objects) {
        List<StoredResult> results = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (ObjectEvent object : objects) {
            String why = ignoreReason(object);
            if (why != null) {
                LOG.infof("ignoring s3://%s/%s: %s", object.bucket(), object.key(), why);
                ignored.add(why);
                continue;
            }
            results.add(handle(object));
        }
        if (results.isEmpty()) {
            throw new EventIgnoredException(String.join("; ", ignored));
        }
        return new StoredResult.Reply(results);
    }

    private String ignoreReason(ObjectEvent object) {
        if (!object.created()) {
            return "not an object-created event (" + object.eventName() + ")";
        }
        if (outputBucket(object.bucket()).equals(object.bucket()) && object.key() != null
                && object.key().startsWith(config.storage().outputPrefix())) {
            return "one of our own outputs (prefix " + config.storage().outputPrefix() + ")";
        }
        return null;
    }

    private StoredResult handle(ObjectEvent object) {
        List<String> allowed = config.storage().allowedBuckets().orElse(List.of());
        if (!allowed.contains(object.bucket())) {
            throw new SegmentationException(FailureReason.BUCKET_NOT_ALLOWED, "bucket '" + object.bucket()
                    + "' is not in sapiens.storage.allowed-buckets " + allowed);
        }
        OutputKeys keys = OutputKeys.derive(config.storage().outputPrefix(), object.key());
        String outBucket = outputBucket(object.bucket());
        SegmentationPipeline pipeline = service.pipeline();
        String model = pipeline.model().name();
        List<String> outputs = outputs();

        HeadObjectResponse head = storage("read", object, () -> s3.headObject(b -> b.bucket(object.bucket()).key(object.key())));
        StoredResult.SourceObject source = new StoredResult.SourceObject(object.bucket(), object.key(),
                unquote(head.eTag()), head.versionId(), head.contentLength());
        StoredResult previous = completeAndCurrent(outBucket, keys, source, model, outputs);
        if (previous != null) {
            LOG.infof("s3://%s/%s: outputs complete and current, not recomputed", object.bucket(), object.key());
            return previous;
        }
        long limit = config.limits().maxImageBytes().asLongValue();
        if (head.contentLength() > limit) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_LARGE, "object of " + head.contentLength()
                    + " bytes exceeds the limit of " + limit + " bytes");
        }
        byte[] image = storage("read", object, () -> s3.getObjectAsBytes(GetObjectRequest.builder()
                .bucket(object.bucket()).key(object.key()).ifMatch(head.eTag()).build()).asByteArray());

        Segmentation segmentation = pipeline.segment(image, new OutputRequest(outputs.contains("class-png"),
                outputs.contains("overlay")));
        metrics.segmented(segmentation, "storage");
        SegmentationReport report = SegmentationReport.of(object.key(), segmentation, pipeline.model(),
                pipeline.normalization());
        report = new SegmentationReport(report.requestId(), report.width(), report.height(), report.format(),
                report.model(), report.foregroundShare(), report.classes(), report.timings(), report.batchSize(), null, null);

        Map<String, String> metadata = metadata(source, model, outputs);
        List<StoredObject> written = new ArrayList<>();
        try {
            byte[] map = segmentation.classMap();
            int w = segmentation.width();
            int h = segmentation.height();
            if (outputs.contains("mask-npy")) {
                written.add(put(outBucket, keys.foregroundNpy(), "application/octet-stream", metadata,
                        NpyWriter.foregroundMask(map, w, h)));
            }
            if (outputs.contains("class-npy")) {
                written.add(put(outBucket, keys.classNpy(), "application/octet-stream", metadata,
                        NpyWriter.classMap(map, w, h)));
            }
            if (outputs.contains("class-png")) {
                written.add(put(outBucket, keys.classPng(), "image/png", metadata, segmentation.maskPng()));
            }
            if (outputs.contains("overlay")) {
                String extension = segmentation.overlay().contentType().equals(ImageFormat.JPEG.contentType()) ? ".jpg" : ".png";
                written.add(put(outBucket, keys.overlayStem() + extension, segmentation.overlay().contentType(),
                        metadata, segmentation.overlay().data()));
            }
            StoredResult stored = new StoredResult(source, List.copyOf(written), report, false);
            byte[] summary = json.writeValueAsBytes(stored);
            written.add(put(outBucket, keys.summary(), "application/json", metadata, summary));
            LOG.infof("s3://%s/%s: segmented into %d objects under s3://%s/%s", object.bucket(), object.key(),
                    written.size(), outBucket, config.storage().outputPrefix());
            return new StoredResult(source, List.copyOf(written), report, false);
        } catch (IOException | RuntimeException e) {
            // No summary: the outputs are not complete. Remove what this attempt wrote, so nothing looks finished.
            for (StoredObject partial : written) {
                try {
                    s3.deleteObject(b -> b.bucket(partial.bucket()).key(partial.key()));
                } catch (SdkException cleanup) {
                    LOG.debugf("could not remove partial output %s: %s", partial.key(), cleanup.getMessage());
                }
            }
            if (e instanceof SegmentationException se) {
                throw se;
            }
            LOG.warnf(e, "writing results for s3://%s/%s failed", object.bucket(), object.key());
            throw new SegmentationException(FailureReason.STORAGE_UNAVAILABLE,
                    "writing results to s3://" + outBucket + " failed: " + e.getMessage(), e);
        }
    }

    /** The previous result, if the summary exists and was made from this very object by this model and outputs. */
    private StoredResult completeAndCurrent(String outBucket, OutputKeys keys, StoredResult.SourceObject source,
            String model, List<String> outputs) {
        HeadObjectResponse summary;
        try {
            summary = s3.headObject(b -> b.bucket(outBucket).key(keys.summary()));
        } catch (NoSuchKeyException e) {
            return null;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return null;
            }
            throw storageFailure("read", outBucket, keys.summary(), e);
        } catch (SdkClientException e) {
            throw storageFailure("read", outBucket, keys.summary(), e);
        }
        Map<String, String> meta = summary.metadata();
        if (!String.valueOf(source.eTag()).equals(meta.get(META_SOURCE_ETAG)) || !model.equals(meta.get(META_MODEL))
                || !String.join(",", outputs).equals(meta.get(META_OUTPUTS))) {
            return null;
        }
        try (InputStream in = s3.getObject(b -> b.bucket(outBucket).key(keys.summary()))) {
            StoredResult previous = json.readValue(in, StoredResult.class);
            List<StoredObject> objects = new ArrayList<>(previous.objects());
            objects.add(new StoredObject(outBucket, keys.summary(), "application/json", summary.contentLength()));
            return new StoredResult(previous.source(), List.copyOf(objects), previous.segmentation(), true);
        } catch (IOException | SdkException e) {
            return null; // unreadable summary: recompute
        }
    }

    private List<String> outputs() {
        List<String> configured = new ArrayList<>();
        for (String raw : config.storage().outputs()) {
            String name = raw.trim().toLowerCase(Locale.ROOT);
            if (name.equals("summary")) {
                continue; // always written: it marks the outputs complete
            }
            if (!OUTPUT_NAMES.contains(name)) {
                throw new SegmentationException(FailureReason.INTERNAL_ERROR,
                        "unknown output '" + raw + "' in sapiens.storage.outputs; use " + OUTPUT_NAMES + " and summary");
            }
            configured.add(name);
        }
        return configured;
    }

    private String outputBucket(String sourceBucket) {
        return config.storage().outputBucket().filter(b -> !b.isBlank()).orElse(sourceBucket);
    }

    private static Map<String, String> metadata(StoredResult.SourceObject source, String model, List<String> outputs) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_SOURCE_BUCKET, source.bucket());
        meta.put(META_SOURCE_KEY, URLEncoder.encode(source.key(), StandardCharsets.UTF_8)); // headers are ASCII
        meta.put(META_SOURCE_ETAG, String.valueOf(source.eTag()));
        if (source.versionId() != null) {
            meta.put(META_SOURCE_VERSION, source.versionId());
        }
        meta.put(META_MODEL, model);
        meta.put(META_OUTPUTS, String.join(",", outputs));
        return meta;
    }

    private StoredObject put(String bucket, String key, String contentType, Map<String, String> metadata, byte[] data) {
        long start = System.nanoTime();
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType).metadata(metadata), RequestBody.fromBytes(data));
        metrics.storage("write", System.nanoTime() - start);
        return new StoredObject(bucket, key, contentType, data.length);
    }

    private StoredObject put(String bucket, String key, String contentType, Map<String, String> metadata,
            NpyWriter.NpyFile file) {
        Supplier<InputStream> content = file.content();
        long start = System.nanoTime();
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType).metadata(metadata),
                RequestBody.fromContentProvider(content::get, file.length(), contentType));
        metrics.storage("write", System.nanoTime() - start);
        return new StoredObject(bucket, key, contentType, file.length());
    }

    private static String unquote(String eTag) {
        return eTag == null ? null : eTag.replace("\"", "");
    }

    private <T> T storage(String what, ObjectEvent object, Supplier<T> call) {
        long start = System.nanoTime();
        try {
            T result = call.get();
            metrics.storage(what, System.nanoTime() - start);
            return result;
        } catch (SdkException e) {
            throw storageFailure(what, object.bucket(), object.key(), e);
        }
    }

    /** Missing objects and refusals are permanent; an unreachable or failing store is transient. */
    static SegmentationException storageFailure(String what, String bucket, String key, SdkException e) {
        String where = "s3://" + bucket + "/" + key;
        if (e instanceof NoSuchKeyException || (e instanceof S3Exception s && s.statusCode() == 404)) {
            return new SegmentationException(FailureReason.OBJECT_NOT_FOUND, "object not found: " + where, e);
        }
        if (e instanceof S3Exception s && s.statusCode() == 412) { // replaced between HEAD and GET: read it again
            return new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "object changed while being read: " + where, e);
        }
        if (e instanceof S3Exception s && s.statusCode() == 403) {
            return new SegmentationException(FailureReason.STORAGE_ACCESS_DENIED, "access denied to " + where
                    + " (check the credentials in quarkus.s3.aws.credentials.*)", e);
        }
        if (e instanceof S3Exception s && s.statusCode() < 500 && s.statusCode() != 408 && s.statusCode() != 429) {
            return new SegmentationException(FailureReason.MALFORMED_EVENT, "storage refused to " + what + " " + where
                    + ": " + s.statusCode() + " " + s.awsErrorDetails().errorMessage(), e);
        }
        return new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "storage unavailable, could not " + what
                + " " + where + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
    }
}

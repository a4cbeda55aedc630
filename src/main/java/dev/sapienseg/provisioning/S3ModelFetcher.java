package dev.sapienseg.provisioning;

import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** Downloads {@code s3://bucket/key} through the S3 API (AWS, MinIO, Ceph, R2...) with the configured client. */
public final class S3ModelFetcher implements ModelFetcher {

    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+)");

    private final Supplier<S3Client> client;

    /** The client is created on first use: pods that load from elsewhere never build one. */
    public S3ModelFetcher(Supplier<S3Client> client) {
        this.client = client;
    }

    @Override
    public boolean handles(ModelSource source) {
        return source instanceof ModelSource.S3;
    }

    @Override
    public RemoteFile open(ModelSource source, long offset) throws IOException {
        ModelSource.S3 s3 = (ModelSource.S3) source;
        try {
            GetObjectRequest.Builder request = GetObjectRequest.builder().bucket(s3.bucket()).key(s3.key());
            if (offset > 0) {
                request.range("bytes=" + offset + "-");
            }
            ResponseInputStream<GetObjectResponse> body = client.get().getObject(request.build());
            GetObjectResponse response = body.response();
            // Closing an SDK stream drains what is left of the object; abort() drops the connection instead.
            Runnable abort = body::abort;
            Matcher range = CONTENT_RANGE.matcher(response.contentRange() == null ? "" : response.contentRange());
            if (offset > 0 && range.matches() && Long.parseLong(range.group(1)) == offset) {
                return new RemoteFile(body, offset, Long.parseLong(range.group(3)), Optional.empty(), abort);
            }
            Long length = response.contentLength();
            return new RemoteFile(body, 0, length == null ? -1 : length, Optional.empty(), abort);
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            throw new FetchException(source.describe() + " does not exist", false, e);
        } catch (S3Exception e) {
            int status = e.statusCode();
            if (status == 416 && offset > 0) {
                return open(source, 0);
            }
            boolean retryable = status == 408 || status == 429 || status >= 500;
            String hint = status == 403 ? " (access denied: check the pod's S3 credentials)" : "";
            throw new FetchException("S3 error " + status + " for " + source.describe() + hint + ": " + e.getMessage(),
                    retryable, e);
        } catch (SdkClientException e) {
            throw new FetchException("cannot reach S3 for " + source.describe() + ": " + e.getMessage(), true, e);
        }
    }
}

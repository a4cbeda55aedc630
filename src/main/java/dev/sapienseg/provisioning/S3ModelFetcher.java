package dev.sapienseg.provisioning;

import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;

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
    public RemoteFile open(ModelSource source) throws IOException {
        ModelSource.S3 s3 = (ModelSource.S3) source;
        try {
            ResponseInputStream<GetObjectResponse> body = client.get()
                    .getObject(GetObjectRequest.builder().bucket(s3.bucket()).key(s3.key()).build());
            Long length = body.response().contentLength();
            return new RemoteFile(body, length == null ? -1 : length, Optional.empty());
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            throw new FetchException(source.describe() + " does not exist", false, e);
        } catch (S3Exception e) {
            int status = e.statusCode();
            boolean retryable = status == 408 || status == 429 || status >= 500;
            String hint = status == 403 ? " (access denied: check the pod's S3 credentials)" : "";
            throw new FetchException("S3 error " + status + " for " + source.describe() + hint + ": "
                    + e.getMessage(), retryable, e);
        } catch (SdkClientException e) {
            throw new FetchException("cannot reach S3 for " + source.describe() + ": " + e.getMessage(), true, e);
        }
    }
}

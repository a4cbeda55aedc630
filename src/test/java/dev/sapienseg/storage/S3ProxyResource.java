package dev.sapienseg.storage;

import java.net.URI;
import java.util.Map;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server (S3Proxy over an in-memory blob store) on 127.0.0.1, with SigV4 authentication and
 * path-style addressing like MinIO's. Buckets {@code photos} (allowed), {@code results} and {@code private} exist.
 * Tests reach it with the real AWS SDK client from {@link #client()}, and can stop and restart it to simulate an
 * outage.
 */
public class S3ProxyResource implements QuarkusTestResourceLifecycleManager {

    public static final String ACCESS_KEY = "sapiens-test";
    public static final String SECRET_KEY = "sapiens-test-secret";

    private static S3Proxy proxy;
    private static BlobStore store;
    private static int port;

    @Override
    public Map<String, String> start() {
        store = new TransientNio2BlobStore();
        port = startProxy(0);
        try (S3Client s3 = client()) {
            for (String bucket : new String[] {"photos", "results", "private"}) {
                s3.createBucket(b -> b.bucket(bucket));
            }
        }
        return Map.of(
                "quarkus.s3.endpoint-override", endpoint(),
                "quarkus.s3.path-style-access", "true",
                "quarkus.s3.aws.region", "us-east-1",
                "quarkus.s3.aws.credentials.type", "static",
                "quarkus.s3.aws.credentials.static-provider.access-key-id", ACCESS_KEY,
                "quarkus.s3.aws.credentials.static-provider.secret-access-key", SECRET_KEY,
                "quarkus.s3.sync-client.connection-timeout", "1S",
                "sapiens.storage.allowed-buckets", "photos");
    }

    private static int startProxy(int wanted) {
        try {
            proxy = S3Proxy.builder().blobStore(store)
                    .endpoint(URI.create("http://127.0.0.1:" + wanted))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .build();
            proxy.start();
            while (!"STARTED".equals(proxy.getState())) {
                Thread.sleep(1);
            }
            return proxy.getPort();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not start", e);
        }
    }

    public static String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public static S3Client client() {
        return S3Client.builder().endpointOverride(URI.create(endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .httpClientBuilder(ApacheHttpClient.builder())
                .build();
    }

    /** Takes the server down (connections refused); its buckets and objects survive in the blob store. */
    public static void stopServer() throws Exception {
        proxy.stop();
    }

    /** Brings the server back on the same port. */
    public static void restartServer() {
        startProxy(port);
    }

    @Override
    public void stop() {
        try {
            if (proxy != null) {
                proxy.stop();
            }
        } catch (Exception e) {
            // test teardown
        }
    }
}

package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/** Downloads over HTTP(S): plain URLs and Hugging Face repositories (with an optional token). */
public final class HttpModelFetcher implements ModelFetcher {

    private static final String USER_AGENT = "sapiens-seg-function";

    private final HttpClient client;
    private final String huggingFaceEndpoint;
    private final Optional<String> huggingFaceToken;

    public HttpModelFetcher(String huggingFaceEndpoint, Optional<String> huggingFaceToken) {
        this.client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(15))
                // Hugging Face answers "resolve" with a redirect to its CDN; NORMAL never follows https -> http.
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        this.huggingFaceEndpoint = huggingFaceEndpoint;
        this.huggingFaceToken = huggingFaceToken.filter(t -> !t.isBlank());
    }

    @Override
    public boolean handles(ModelSource source) {
        return source instanceof ModelSource.Http || source instanceof ModelSource.HuggingFace;
    }

    @Override
    public RemoteFile open(ModelSource source) throws IOException {
        boolean hub = source instanceof ModelSource.HuggingFace;
        URI url = hub ? ((ModelSource.HuggingFace) source).resolveUrl(huggingFaceEndpoint)
                : ((ModelSource.Http) source).uri();
        HttpRequest.Builder request = HttpRequest.newBuilder(url).GET()
                .timeout(Duration.ofSeconds(60)) // until the headers arrive; the body has its own stall watchdog
                .header("User-Agent", USER_AGENT);
        if (hub) {
            huggingFaceToken.ifPresent(token -> request.header("Authorization", "Bearer " + token));
        }
        HttpResponse<InputStream> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while connecting to " + source.describe(), false, e);
        } catch (IOException e) {
            throw new FetchException("cannot reach " + source.describe() + ": " + e, true, e);
        }
        int status = response.statusCode();
        if (status != 200) {
            response.body().close();
            throw new FetchException(explain(status, source, hub), retryable(status));
        }
        long length = response.headers().firstValueAsLong("content-length").orElse(-1);
        return new RemoteFile(response.body(), length, hub ? publishedSha256(response) : Optional.empty());
    }

    /**
     * The Hub names an LFS file's SHA-256 in {@code X-Linked-Etag} on the redirect it answers "resolve" with (and on
     * the final answer when it serves the file itself).
     */
    private static Optional<String> publishedSha256(HttpResponse<?> response) {
        for (HttpResponse<?> r = response; r != null; r = r.previousResponse().orElse(null)) {
            Optional<String> etag = r.headers().firstValue("x-linked-etag");
            if (etag.isPresent()) {
                String value = etag.get().replace("\"", "").replace("W/", "").toLowerCase(Locale.ROOT);
                if (value.matches("[0-9a-f]{64}")) {
                    return Optional.of(value);
                }
            }
        }
        return Optional.empty();
    }

    private static boolean retryable(int status) {
        return status == 408 || status == 429 || status >= 500;
    }

    private String explain(int status, ModelSource source, boolean hub) {
        String what = "HTTP " + status + " for " + source.describe();
        return switch (status) {
            case 401, 403 -> what + (hub ? ": the repository is private or gated; set HF_TOKEN to a token with access"
                    : ": access denied");
            case 404 -> what + ": no such file" + (hub ? " (check the repository, revision and path)" : "");
            default -> what;
        };
    }
}

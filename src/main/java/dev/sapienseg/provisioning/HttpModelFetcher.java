package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Downloads over HTTP(S): plain URLs and Hugging Face repositories (with an optional token). */
public final class HttpModelFetcher implements ModelFetcher {

    private static final String USER_AGENT = "sapiens-seg-function";
    private static final int MAX_REDIRECTS = 8;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HttpClient client;
    private final URI huggingFaceEndpoint;
    private final Optional<String> huggingFaceToken;

    public HttpModelFetcher(String huggingFaceEndpoint, Optional<String> huggingFaceToken) {
        // Redirects are followed here, not by the client: the Hub's token must go to the Hub only, never to the CDN
        // or mirror it redirects to (JDK 17's client forwards headers set by hand across origins).
        this.client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        this.huggingFaceEndpoint = URI.create(huggingFaceEndpoint);
        this.huggingFaceToken = huggingFaceToken;
    }

    @Override
    public boolean handles(ModelSource source) {
        return source instanceof ModelSource.Http || source instanceof ModelSource.HuggingFace;
    }

    @Override
    public RemoteFile open(ModelSource source, long offset) throws IOException {
        boolean hub = source instanceof ModelSource.HuggingFace;
        URI url = hub ? ((ModelSource.HuggingFace) source).resolveUrl(huggingFaceEndpoint.toString())
                : ((ModelSource.Http) source).uri();
        Optional<String> published = Optional.empty();
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<InputStream> response = send(url, offset, hub && sameOrigin(url, huggingFaceEndpoint), source);
            int status = response.statusCode();
            if (hub && published.isEmpty()) {
                published = publishedSha256(response.headers());
            }
            if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
                response.body().close();
                String location = response.headers().firstValue("location")
                        .orElseThrow(() -> new FetchException("HTTP " + status + " without a Location for "
                                + source.describe(), false));
                URI next = url.resolve(location);
                if ("https".equalsIgnoreCase(url.getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
                    throw new FetchException(source.describe() + " redirects from https to " + next.getScheme(), false);
                }
                url = next;
                continue;
            }
            if (status == 416 && offset > 0) { // the partial file is no prefix of this one: start over
                response.body().close();
                return open(source, 0);
            }
            if (status != 200 && status != 206) {
                response.body().close();
                throw new FetchException(explain(status, source, hub), retryable(status));
            }
            InputStream body = response.body();
            if (status == 206) {
                Matcher range = CONTENT_RANGE.matcher(response.headers().firstValue("content-range").orElse(""));
                if (!range.matches() || Long.parseLong(range.group(1)) != offset) {
                    body.close();
                    return open(source, 0);
                }
                long total = range.group(3).equals("*") ? -1 : Long.parseLong(range.group(3));
                return new RemoteFile(body, offset, total, published, () -> closeQuietly(body));
            }
            long length = response.headers().firstValueAsLong("content-length").orElse(-1);
            return new RemoteFile(body, 0, length, published, () -> closeQuietly(body));
        }
        throw new FetchException("more than " + MAX_REDIRECTS + " redirects for " + source.describe(), false);
    }

    private HttpResponse<InputStream> send(URI url, long offset, boolean withToken, ModelSource source)
            throws FetchException {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).GET()
                .timeout(Duration.ofSeconds(60)) // until the headers arrive; the body has its own stall watchdog
                .header("User-Agent", USER_AGENT);
        if (offset > 0) {
            request.header("Range", "bytes=" + offset + "-");
        }
        if (withToken) {
            huggingFaceToken.ifPresent(token -> request.header("Authorization", "Bearer " + token));
        }
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while connecting to " + source.describe(), false, e);
        } catch (IOException e) {
            throw new FetchException("cannot reach " + source.describe() + ": " + e, true, e);
        }
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    /** The Hub names an LFS file's SHA-256 in {@code X-Linked-Etag} on the redirect it answers "resolve" with. */
    private static Optional<String> publishedSha256(HttpHeaders headers) {
        return headers.firstValue("x-linked-etag")
                .map(v -> v.replace("\"", "").replace("W/", "").toLowerCase(Locale.ROOT))
                .filter(v -> v.matches("[0-9a-f]{64}"));
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

    private static void closeQuietly(InputStream body) {
        try {
            Objects.requireNonNull(body).close();
        } catch (IOException ignored) {
            // aborting: the pending read fails either way
        }
    }
}

package dev.sapienseg.event;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.message.MessageReader;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;

/** Posts CloudEvents with the CloudEvents SDK's HTTP binding (as a Knative broker would) and reads the reply. */
final class CloudEventsClient {

    /** The HTTP answer, and the reply event if the answer was one. */
    record Reply(int status, Map<String, String> headers, byte[] body, CloudEvent event) {
        String header(String name) {
            return headers.get(name.toLowerCase());
        }
    }

    private final URL url;

    CloudEventsClient(URL url) {
        this.url = url;
    }

    Reply sendBinary(CloudEvent event) {
        return send(event, false);
    }

    Reply sendStructured(CloudEvent event) {
        return send(event, true);
    }

    private Reply send(CloudEvent event, boolean structured) {
        try {
            HttpURLConnection connection = (HttpURLConnection) url.openConnection();
            connection.setRequestMethod("POST");
            connection.setDoOutput(true);
            var writer = HttpMessageFactory.createWriter(connection::setRequestProperty, body -> {
                try (OutputStream out = connection.getOutputStream()) {
                    if (body != null) {
                        out.write(body);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            if (structured) {
                writer.writeStructured(event, JsonFormat.CONTENT_TYPE);
            } else {
                writer.writeBinary(event);
            }
            int status = connection.getResponseCode();
            Map<String, String> headers = new TreeMap<>();
            for (Map.Entry<String, List<String>> h : connection.getHeaderFields().entrySet()) {
                if (h.getKey() != null) {
                    headers.put(h.getKey().toLowerCase(), String.join(",", h.getValue()));
                }
            }
            byte[] body;
            try (InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
                body = in == null ? new byte[0] : readAll(in);
            }
            CloudEvent reply = null;
            if (headers.containsKey("ce-id") || String.valueOf(headers.get("content-type")).startsWith("application/cloudevents+json")) {
                MessageReader reader = HttpMessageFactory.createReaderFromMultimap(
                        connection.getHeaderFields().entrySet().stream().filter(e -> e.getKey() != null)
                                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)),
                        body);
                reply = reader.toEvent();
            }
            return new Reply(status, headers, body, reply);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}

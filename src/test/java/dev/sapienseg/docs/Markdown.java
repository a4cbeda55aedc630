package dev.sapienseg.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The repository's Markdown as a reader meets it on GitHub: its files, their headings' anchors (GitHub's slugs), links
 * and tables, with fenced code blocks set aside (a {@code # comment} in a shell block is not a heading).
 */
public final class Markdown {

    public static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.+?)\\s*#*\\s*$");
    private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\s+(?:id|name)=\"([^\"]+)\"");

    private Markdown() {
    }

    /** Every Markdown file of the repository, build output and tools' folders left out. */
    public static List<Path> files() {
        try (Stream<Path> files = Files.walk(ROOT)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".md")).filter(p -> {
                Path relative = ROOT.relativize(p);
                return !relative.startsWith("target") && !relative.startsWith(".git") && !relative.startsWith(".mvn")
                        && !relative.toString().contains("node_modules");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The text with fenced code blocks blanked out (line count kept). */
    public static String prose(String text) {
        StringBuilder out = new StringBuilder();
        boolean fenced = false;
        for (String line : text.split("\n", -1)) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
                out.append('\n');
                continue;
            }
            out.append(fenced ? "" : line).append('\n');
        }
        return out.toString();
    }

    /** GitHub's anchor for a heading: lower case, formatting and punctuation dropped, spaces as hyphens. */
    public static String slug(String heading) {
        String text = heading.replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1").replace("`", "").replace("*", "");
        StringBuilder slug = new StringBuilder();
        text.toLowerCase(Locale.ROOT).codePoints().forEach(c -> {
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                slug.appendCodePoint(c);
            } else if (c == ' ') {
                slug.append('-');
            }
        });
        return slug.toString();
    }

    /** The anchors a file offers: its headings' slugs (repeats get -1, -2…) and explicit HTML anchors. */
    public static Set<String> anchors(String text) {
        Set<String> anchors = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(text).split("\n")) {
            Matcher heading = HEADING.matcher(line);
            if (heading.matches()) {
                String slug = slug(heading.group(1));
                int n = seen.merge(slug, 1, Integer::sum);
                anchors.add(n == 1 ? slug : slug + "-" + (n - 1));
            }
            Matcher html = HTML_ANCHOR.matcher(line);
            while (html.find()) {
                anchors.add(html.group(1));
            }
        }
        return anchors;
    }

    /** What is wrong with a file's links: leaving the repository, pointing at nothing, or at an anchor not there. */
    public static List<String> badLinks(Path file, String text) {
        List<String> problems = new ArrayList<>();
        Matcher m = LINK.matcher(prose(text));
        while (m.find()) {
            String target = m.group(1);
            if (target.startsWith("http://") || target.startsWith("https://") || target.startsWith("mailto:")) {
                continue;
            }
            String path = target.replaceAll("#.*$", "");
            Optional<String> anchor = target.contains("#") ? Optional.of(target.substring(target.indexOf('#') + 1))
                    : Optional.empty();
            Path resolved = path.isEmpty() ? file : file.getParent().resolve(path).normalize();
            String where = ROOT.relativize(file) + ": link " + target;
            if (!resolved.startsWith(ROOT)) {
                problems.add(where + " leaves the repository");
            } else if (!Files.exists(resolved)) {
                problems.add(where + " points at nothing");
            } else if (anchor.isPresent() && resolved.toString().endsWith(".md")
                    && !anchors(resolved.equals(file) ? text : read(resolved)).contains(anchor.get())) {
                problems.add(where + " names an anchor " + ROOT.relativize(resolved) + " does not have");
            }
        }
        if (text.contains("../shared/")) {
            problems.add(ROOT.relativize(file) + ": names ../shared/, which is not part of the repository");
        }
        return problems;
    }

    /** The rows of every table in the text, as cells (a {@code \|} inside a cell is kept as a bar). */
    public static List<List<String>> tableRows(String text) {
        List<List<String>> rows = new ArrayList<>();
        for (String line : prose(text).split("\n")) {
            String trimmed = line.strip();
            if (!trimmed.startsWith("|") || trimmed.matches("\\|[\\s:|-]+\\|")) {
                continue;
            }
            List<String> cells = new ArrayList<>();
            for (String cell : trimmed.substring(1, trimmed.length() - (trimmed.endsWith("|") ? 1 : 0))
                    .split("(?<!\\\\)\\|", -1)) {
                cells.add(cell.strip().replace("\\|", "|"));
            }
            rows.add(cells);
        }
        return rows;
    }

    /** The text of a cell written as one code span ({@code `x`} gives x), or empty. */
    public static Optional<String> code(String cell) {
        Matcher m = Pattern.compile("`([^`]+)`").matcher(cell);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }
}

package dev.sapienseg.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.sapienseg.deploy.AppConfig;
import io.smallrye.config.common.utils.StringUtil;

/**
 * docs/configuration.md is the one reference of the settings, held against the code: a row for every key of
 * SapiensConfig and of application.properties, each naming a real key, the variable SmallRye really reads for it and
 * the default the application really has, so the page cannot drift from the code.
 */
class ConfigurationReferenceTest {

    static final java.nio.file.Path PAGE = Markdown.ROOT.resolve("docs/configuration.md");
    private static final Pattern EXPRESSION = Pattern.compile("\\$\\{([A-Za-z_.]+)(?::([^}]*))?}");

    /** The page's rows: key → [variable, default, what]. */
    static Map<String, List<String>> rows(String page) {
        Map<String, List<String>> rows = new TreeMap<>();
        for (List<String> cells : Markdown.tableRows(page)) {
            Optional<String> key = Markdown.code(cells.get(0));
            if (cells.size() == 4 && key.isPresent() && key.get().matches("(sapiens|quarkus)\\..*")) {
                rows.put(key.get().replace(".<key>", ".*"), cells.subList(1, 4));
            }
        }
        return rows;
    }

    /** What is wrong with one row. */
    static List<String> problems(String key, List<String> cells, AppConfig app) {
        List<String> problems = new ArrayList<>();
        String variable = Markdown.code(cells.get(0)).orElse(cells.get(0));
        String defaultCell = cells.get(1);
        boolean map = key.endsWith(".*");
        String expected = StringUtil.replaceNonAlphanumericByUnderscores(map ? key.substring(0, key.length() - 2) : key)
                .toUpperCase(Locale.ROOT) + (map ? "__<KEY>__" : "");
        if (!variable.equals(expected)) {
            problems.add(key + ": variable " + variable + ", SmallRye reads " + expected);
        }
        boolean unknown = key.startsWith("sapiens.") && !app.keys().contains(key);
        if (unknown) {
            problems.add(key + " is no configuration key");
        }
        if (map || unknown) {
            return problems; // a map has no single default; an unknown key has none to compare
        }
        Optional<String> raw = app.rawValue(key).filter(v -> !v.isEmpty());
        if (raw.isEmpty()) {
            if (!defaultCell.equals("—")) {
                problems.add(key + " has no default, the page says " + defaultCell);
            }
            return problems;
        }
        String value = raw.get().replace("${user.home}", "~");
        Matcher expression = EXPRESSION.matcher(value);
        if (expression.matches()) {
            if (!defaultCell.contains("$" + expression.group(1))) {
                problems.add(key + ": default " + value + ", the page says " + defaultCell);
            }
            if (expression.group(2) != null && !expression.group(2).isEmpty()
                    && !defaultCell.contains("`" + expression.group(2) + "`")) {
                problems.add(key + ": default falls back to " + expression.group(2) + ", the page says " + defaultCell);
            }
        } else if (!defaultCell.equals("`" + value + "`")) {
            problems.add(key + ": default `" + value + "`, the page says " + defaultCell);
        }
        return problems;
    }

    @Test
    void everyKeyHasItsRowWithItsRealVariableAndDefault() {
        AppConfig app = AppConfig.load();
        Map<String, List<String>> rows = rows(Markdown.read(PAGE));
        List<String> problems = new ArrayList<>();
        app.keys().stream().filter(key -> key.startsWith("sapiens.") && !rows.containsKey(key))
                .forEach(key -> problems.add(key + " has no row"));
        rows.forEach((key, cells) -> problems.addAll(problems(key, cells, app)));
        assertEquals(List.of(), problems);
        assertTrue(rows.size() >= 50, "rows read: " + rows.keySet());
    }

    @Test
    void aRowThatDriftedIsReported() {
        AppConfig app = AppConfig.load();
        String page = """
                | key | environment variable | default | what it does |
                |---|---|---|---|
                | `sapiens.limits.max-in-flight` | `SAPIENS_LIMITS_MAX_INFLIGHT` | `8` | requests at once |
                | `sapiens.model.hub.token` | `SAPIENS_MODEL_HUB_TOKEN` | — | token |
                | `sapiens.model.path` | `SAPIENS_MODEL_PATH` | `model.onnx` | a file |
                | `sapiens.limits.max-inflight` | `SAPIENS_LIMITS_MAX_INFLIGHT` | `4` | a misspelt key |
                """;
        List<String> problems = new ArrayList<>();
        rows(page).forEach((key, cells) -> problems.addAll(problems(key, cells, app)));
        assertEquals(5, problems.size(), "the wrong variable and default, the token's $HF_TOKEN, a default that is "
                + "not there, a key that is not: " + problems);
    }
}

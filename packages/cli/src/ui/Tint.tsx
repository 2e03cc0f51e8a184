/**
 * Colour in ink views that honours NO_COLOR / FORCE_COLOR / TERM=dumb: a view is wrapped in
 * `<ColorProvider enabled={ctx.color}>` and colours its text with `<Tint color=...>`, which is a
 * plain `<Text>` when colours are off.
 */
import { Text } from "ink";
import { createContext, useContext, type ReactNode } from "react";

const ColorEnabled = createContext(true);

/** Turns colours on or off for everything inside. */
export function ColorProvider(props: { enabled: boolean; children: ReactNode }): ReactNode {
  return <ColorEnabled.Provider value={props.enabled}>{props.children}</ColorEnabled.Provider>;
}

/** Text in `color` (and bold or dim) when colours are on. */
export function Tint(props: {
  color?: "green" | "yellow" | "red" | "cyan" | "magenta" | "blue" | "gray";
  bold?: boolean;
  dim?: boolean;
  children: ReactNode;
}): ReactNode {
  const enabled = useContext(ColorEnabled);
  if (!enabled) return <Text>{props.children}</Text>;
  return (
    <Text
      {...(props.color === undefined ? {} : { color: props.color })}
      bold={props.bold === true}
      dimColor={props.dim === true}
    >
      {props.children}
    </Text>
  );
}

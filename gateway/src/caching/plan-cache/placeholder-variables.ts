import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  typeFromAST,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * Values for an operation's required variables that pass coercion, so that
 * ApolloGateway (which checks the variables before it plans) goes on to plan
 * a warm-up run. A plan does not depend on variable values: @skip/@include
 * conditions are kept in the plan and decided at execution.
 */
export function placeholderVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode | undefined,
): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const definition of operation?.variableDefinitions ?? []) {
    if (definition.type.kind !== Kind.NON_NULL_TYPE || definition.defaultValue) continue;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (type) variables[definition.variable.name.value] = placeholder(type);
  }
  return variables;
}

function placeholder(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return placeholder(type.ofType);
  if (isListType(type)) return [];
  if (isEnumType(type)) return type.getValues()[0]?.name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    if (type.isOneOf) return fields[0] ? { [fields[0].name]: placeholder(fields[0].type) } : {};
    return Object.fromEntries(
      fields
        .filter((field) => isNonNullType(field.type) && field.defaultValue === undefined)
        .map((field) => [field.name, placeholder(field.type)]),
    );
  }
  // A scalar: the first of these that it accepts.
  for (const candidate of ['', 0, false]) {
    try {
      if (type.parseValue(candidate) !== undefined) return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}
